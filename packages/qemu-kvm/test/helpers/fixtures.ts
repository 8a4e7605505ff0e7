/** What the facade's integration tests share: the test guest, a private runtime base and pool per test. */
import { join } from "node:path";
import { createLocalHost, type Host } from "@qemu-kvm/host";
import { ensureGuest, guestVmSpec, type TestGuest } from "@qemu-kvm/test-guest";
import type { SshdFixture, TempDir } from "@qemu-kvm/testkit";
import { test as base } from "@qemu-kvm/testkit/fixtures";

/** Named so that the type of `test` can be written in declarations. */
export type { SshdFixture, TempDir };

/** Where a test's VMs keep their files and leases: apart from every other test and from /run. */
export interface VmEnv {
  readonly runtimeBase: string;
  readonly poolOptions: { readonly stateDir: string };
}

export const test = base
  .extend("guest", { scope: "file" }, async (): Promise<TestGuest> => ensureGuest())
  .extend("host", async ({}, { onCleanup }): Promise<Host> => {
    const host = createLocalHost();
    onCleanup(() => host.close());
    return host;
  })
  .extend(
    "env",
    async ({ tempDir }): Promise<VmEnv> => ({
      runtimeBase: join(tempDir.path, "rt"),
      poolOptions: { stateDir: join(tempDir.path, "pool") },
    }),
  );

/** The test guest as a spec (test-guest's own): q35 under TCG, user networking with the guest's SSH forwarded. */
export const guestSpec = guestVmSpec;

export const LOGIN = { user: "root", password: "qemu-kvm" } as const;
