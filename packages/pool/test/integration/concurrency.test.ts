/**
 * Many processes, one host: 8 worker processes lease and release 200 times
 * each against one state directory, and every grant is checked against every
 * other (see `findConflicts`). The same run with the lock broken (a `flock`
 * that locks nothing, first in PATH) must be caught by the same check.
 */
import { chmod, mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isAliveNow, waitUntilGone } from "@qemu-kvm/testkit";
import { describe, expect } from "vitest";
import type { PoolOptions } from "../../src/index.js";
import { findConflicts, type Held } from "../helpers/conflicts.js";
import { sshWorkerHost, test } from "../helpers/fixtures.js";
import { freePortBlock } from "../helpers/ports.js";
import { readState } from "../helpers/state-file.js";
import type { WorkerConfig } from "../helpers/worker.js";
import type { WorkerHost } from "../helpers/worker-host.js";
import type { Workers } from "../helpers/workers.js";

const PF = "0000:81:00.0";
const VFS = ["0000:81:02.0", "0000:81:02.1", "0000:81:02.2"];
const DEVICE = "0000:82:00.0";
const LOCAL: WorkerHost = { transport: "local" };

interface RunResult {
  grants: { worker: number; held: Held }[];
  refused: Record<string, number>;
  unexpected: string[];
  anchors: number[];
  stateDir: string;
}

/** Runs one churn worker per entry of `hosts` against one state directory; resolves what they report. */
async function run(
  workers: Workers,
  stateDir: string,
  hosts: WorkerHost[],
  iterations: number,
  env?: NodeJS.ProcessEnv,
): Promise<RunResult> {
  const base = await freePortBlock(4);
  const options: PoolOptions = {
    stateDir,
    ports: { forward: { from: base, to: base + 3 } },
    topology: {
      cpus: { online: [0, 1, 2, 3] },
      pci: [{ address: PF, vfs: VFS }, { address: DEVICE }],
    },
  };
  const started = await Promise.all(
    hosts.map((host, id) =>
      workers.start(
        {
          mode: "churn",
          id,
          host,
          options,
          iterations,
          pci: [PF, ...VFS, DEVICE],
          seed: id * 7919 + 1,
        } satisfies WorkerConfig,
        { env },
      ),
    ),
  );
  const anchors = (
    await Promise.all(started.map((worker) => worker.waitFor((m) => m.type === "opened")))
  ).map((message) => message.anchor as number);
  const reports = await Promise.all(
    started.map((worker) => worker.waitFor((m) => m.type === "done")),
  );
  const exits = await Promise.all(started.map((worker) => worker.exited));
  for (const exit of exits) expect(exit, exit.stderr).toMatchObject({ code: 0 });
  const refused: Record<string, number> = {};
  for (const report of reports)
    for (const [code, count] of Object.entries(report.refused as Record<string, number>))
      refused[code] = (refused[code] ?? 0) + count;
  return {
    grants: reports.flatMap((report) =>
      (report.held as Held[]).map((held) => ({ worker: report.id as number, held })),
    ),
    refused,
    unexpected: reports.flatMap((report) => report.unexpected as string[]),
    anchors,
    stateDir,
  };
}

/** Nothing held, nothing half-written, no anchor left. */
async function expectNothingLeft(result: RunResult): Promise<void> {
  const state = await readState(result.stateDir);
  expect(state.owners).toEqual([]);
  expect(state.leases).toEqual([]);
  expect((await readdir(result.stateDir)).sort()).toEqual(["lock", "state.jsonl"]);
  for (const anchor of result.anchors) await waitUntilGone(anchor);
}

describe("8 processes lease and release 200 times each against one host", () => {
  test("local: no resource is ever held by two owners, and nothing leaks", async ({
    workers,
    tempDir,
  }) => {
    const result = await run(
      workers,
      join(tempDir.path, "state"),
      Array.from({ length: 8 }, () => LOCAL),
      200,
    );
    expect(result.unexpected).toEqual([]);
    expect(findConflicts(result.grants)).toEqual([]);
    // The check was exercised: many grants, and workers were refused what others held.
    expect(result.grants.length).toBeGreaterThan(400);
    expect(result.refused.ERR_POOL_BUSY ?? 0).toBeGreaterThan(0);
    expect(
      (result.refused.ERR_POOL_CONFLICT ?? 0) + (result.refused.ERR_POOL_EXHAUSTED ?? 0),
    ).toBeGreaterThan(0);
    await expectNothingLeft(result);
  });

  test("4 local and 4 SSH controllers share one host's state: the same guarantees", async ({
    workers,
    tempDir,
    sshd,
  }) => {
    const ssh = sshWorkerHost(sshd);
    const result = await run(
      workers,
      join(tempDir.path, "state"),
      [LOCAL, ssh, LOCAL, ssh, LOCAL, ssh, LOCAL, ssh],
      200,
    );
    expect(result.unexpected).toEqual([]);
    expect(findConflicts(result.grants)).toEqual([]);
    expect(result.grants.length).toBeGreaterThan(400);
    await expectNothingLeft(result);
  });

  test("the check catches a broken lock: with a flock that locks nothing, grants overlap", async ({
    workers,
    tempDir,
  }) => {
    const fakeBin = join(tempDir.path, "bin");
    await mkdir(fakeBin);
    await writeFile(join(fakeBin, "flock"), "#!/bin/sh\nexit 0\n");
    await chmod(join(fakeBin, "flock"), 0o755);
    const env = { ...process.env, PATH: `${fakeBin}:${process.env.PATH}` };
    const result = await run(
      workers,
      join(tempDir.path, "state"),
      Array.from({ length: 8 }, () => LOCAL),
      100,
      env,
    );
    const conflicts = findConflicts(result.grants);
    expect(conflicts.length, "a broken lock went unnoticed").toBeGreaterThan(0);
    for (const anchor of result.anchors) if (isAliveNow(anchor)) await waitUntilGone(anchor);
  });
});
