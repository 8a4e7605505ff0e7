/** Checks that a stopped VM left nothing: no QEMU, no runtime directory, no leases. */
import { existsSync } from "node:fs";
import type { Host } from "@qemu-kvm/host";
import { openPool } from "@qemu-kvm/pool";
import { expect } from "vitest";
import type { VmEnv } from "./fixtures.js";

export interface Traces {
  readonly pid: number;
  readonly runtimeDir: string;
}

export async function expectNothingLeft(host: Host, env: VmEnv, traces: Traces): Promise<void> {
  expect(await host.isAlive(traces.pid)).toBe(false);
  expect(existsSync(traces.runtimeDir)).toBe(false);
  await using pool = await openPool(host, env.poolOptions);
  expect((await pool.leases()).owners).toEqual([]);
}
