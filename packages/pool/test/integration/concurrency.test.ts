/**
 * Many processes, one host: 8 worker processes lease and release 200 times
 * each against one state directory, and every grant is checked against every
 * other (see `findConflicts`). The same run with the lock broken (a `flock`
 * that locks nothing, first in PATH) must be caught by the same check.
 */
import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  isAliveNow,
  makeTempDir,
  type SshdFixture,
  startSshd,
  type TempDir,
  waitUntilGone,
} from "@qemu-kvm/testkit";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { parseState } from "../../src/state.js";
import type { PoolOptions } from "../../src/types.js";
import type { WorkerConfig } from "../fixtures/worker.js";
import {
  findConflicts,
  freePortBlock,
  type Held,
  killAllWorkers,
  localTarget,
  sshTarget,
  startWorker,
  type WorkerHost,
} from "../helpers.js";

const PF = "0000:81:00.0";
const VFS = ["0000:81:02.0", "0000:81:02.1", "0000:81:02.2"];
const DEVICE = "0000:82:00.0";

let temp: TempDir;
let sshd: SshdFixture;

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.close();
});
beforeEach(async () => {
  temp = await makeTempDir("qk-pool-many-");
});
afterEach(async () => {
  await killAllWorkers();
  await temp.remove();
});

interface RunResult {
  grants: { worker: number; held: Held }[];
  refused: Record<string, number>;
  unexpected: string[];
  anchors: number[];
  stateDir: string;
}

/** Runs one churn worker per entry of `hosts` against one state directory; resolves what they report. */
async function run(
  hosts: WorkerHost[],
  iterations: number,
  env?: NodeJS.ProcessEnv,
): Promise<RunResult> {
  const base = await freePortBlock(4);
  const stateDir = join(temp.path, "state");
  const options: PoolOptions = {
    stateDir,
    ports: { forward: { from: base, to: base + 3 } },
    topology: {
      cpus: { online: [0, 1, 2, 3] },
      pci: [{ address: PF, vfs: VFS }, { address: DEVICE }],
    },
  };
  const workers = hosts.map((host, id) =>
    startWorker(
      {
        mode: "churn",
        id,
        host,
        options,
        iterations,
        pci: [PF, ...VFS, DEVICE],
        seed: id * 7919 + 1,
      } satisfies WorkerConfig,
      env,
    ),
  );
  const anchors = (
    await Promise.all(workers.map((worker) => worker.waitFor((m) => m.type === "opened")))
  ).map((message) => message.anchor as number);
  const reports = await Promise.all(
    workers.map((worker) => worker.waitFor((m) => m.type === "done")),
  );
  const exits = await Promise.all(workers.map((worker) => worker.exited));
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
  const state = parseState(await readFile(join(result.stateDir, "state.jsonl"), "utf8"), "state");
  expect(state.owners).toEqual([]);
  expect(state.leases).toEqual([]);
  expect((await readdir(result.stateDir)).sort()).toEqual(["lock", "state.jsonl"]);
  for (const anchor of result.anchors) await waitUntilGone(anchor);
}

describe("8 processes lease and release 200 times each against one host", () => {
  test("local: no resource is ever held by two owners, and nothing leaks", async () => {
    const result = await run(
      Array.from({ length: 8 }, () => localTarget().workerHost()),
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

  test("4 local and 4 SSH controllers share one host's state: the same guarantees", async () => {
    const ssh = sshTarget(() => sshd).workerHost();
    const local = localTarget().workerHost();
    const result = await run([local, ssh, local, ssh, local, ssh, local, ssh], 200);
    expect(result.unexpected).toEqual([]);
    expect(findConflicts(result.grants)).toEqual([]);
    expect(result.grants.length).toBeGreaterThan(400);
    await expectNothingLeft(result);
  });

  test("the check catches a broken lock: with a flock that locks nothing, grants overlap", async () => {
    const fakeBin = join(temp.path, "bin");
    await mkdir(fakeBin);
    await writeFile(join(fakeBin, "flock"), "#!/bin/sh\nexit 0\n");
    await chmod(join(fakeBin, "flock"), 0o755);
    const env = { ...process.env, PATH: `${fakeBin}:${process.env.PATH}` };
    const result = await run(
      Array.from({ length: 8 }, () => localTarget().workerHost()),
      100,
      env,
    );
    const conflicts = findConflicts(result.grants);
    expect(conflicts.length, "a broken lock went unnoticed").toBeGreaterThan(0);
    for (const anchor of result.anchors) if (isAliveNow(anchor)) await waitUntilGone(anchor);
  });
});
