/**
 * Controllers that die or go silent: SIGKILL in the middle of work, in the middle
 * of a commit, and a stopped controller whose heartbeat stops. Each runs locally
 * and over SSH.
 */
import { mkdir, readdir, readFile, symlink } from "node:fs/promises";
import { join } from "node:path";
import { waitUntilGone } from "@qemu-kvm/testkit";
import { describe, expect } from "vitest";
import type { PoolOptions } from "../../src/index.js";
import { localTest, sshTest, test } from "../helpers/fixtures.js";
import { readState } from "../helpers/state-file.js";
import type { WorkerConfig } from "../helpers/worker.js";

const PF = "0000:81:00.0";
const VF0 = "0000:81:02.0";
const TOPOLOGY = { cpus: { online: [0, 1, 2, 3, 4, 5, 6, 7] }, pci: [{ address: PF, vfs: [VF0] }] };

for (const [name, test] of [
  ["local", localTest],
  ["ssh", sshTest],
] as const) {
  describe(`crashes over ${name}`, () => {
    function options(stateDir: string, extra: PoolOptions = {}): PoolOptions {
      return { stateDir, topology: TOPOLOGY, ...extra };
    }

    test("a controller killed with SIGKILL in the middle of work: the state file is intact and its leases are reclaimed", async ({
      pools,
      target,
      workers,
    }) => {
      const { stateDir } = pools;
      const pool = await pools.open(options(stateDir));
      // Kill at different points of the churn: several rounds.
      for (const ticks of [3, 11, 24]) {
        const worker = await workers.start({
          mode: "hold",
          id: ticks,
          host: target.workerHost,
          options: options(stateDir),
          hold: { cpus: [1, 2], pci: [VF0] },
        } satisfies WorkerConfig);
        const { anchor } = await worker.waitFor((m) => m.type === "holding");
        await worker.waitFor((m) => m.type === "tick" && (m.tick as number) >= ticks);
        worker.kill("SIGKILL");
        await worker.exited;
        await waitUntilGone(anchor as number);
        // Whatever transaction was under way, the file is one of the committed states.
        const state = await readState(stateDir);
        expect(state.owners.map((owner) => owner.owner)).toContain(`hold-${ticks}`);
        expect((await readdir(stateDir)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
        const snapshot = await pool.leases();
        expect(snapshot.owners.every((owner) => !owner.alive)).toBe(true);
        const reclaimed = await pool.reclaim();
        expect(reclaimed.map((owner) => owner.owner)).toContain(`hold-${ticks}`);
        expect((await pool.leases()).owners).toEqual([]);
        // What it held is free again.
        const grant = await pool.lease("after", { cpus: [1, 2], pci: [VF0] });
        expect(grant.cpus).toHaveLength(2);
        await pool.release("after");
      }
    });

    test("a controller killed in the middle of a commit: nothing of it reaches the state file", async ({
      pools,
      target,
      workers,
    }) => {
      const { stateDir } = pools;
      const pool = await pools.open(options(stateDir));
      await pool.leaseCpus("vm0", [3]);
      const before = await readFile(join(stateDir, "state.jsonl"), "utf8");
      const worker = await workers.start({
        mode: "half-commit",
        id: 1,
        host: target.workerHost,
        options: options(stateDir),
      } satisfies WorkerConfig);
      const { anchor } = await worker.waitFor((m) => m.type === "sending");
      expect((await worker.exited).signal).toBe("SIGKILL");
      await waitUntilGone(anchor as number);
      expect(await readFile(join(stateDir, "state.jsonl"), "utf8")).toBe(before);
      // The next commit sweeps the half-written temporary file, if the dead anchor left one.
      expect((await pool.leaseCpus("vm0", [7])).map((lease) => lease.cpu)).toEqual([7]);
      expect((await readdir(stateDir)).sort()).toEqual(["lock", "state.jsonl"]);
      expect(
        (await readState(stateDir)).leases.map((lease) => (lease.lease === "cpu" ? lease.cpu : -1)),
      ).toEqual([3, 7]);
    });

    test("a controller that stops talking loses its anchor after the heartbeat expiry; resumed, it takes its owners back", async ({
      pools,
      target,
      workers,
    }) => {
      const { stateDir } = pools;
      const pool = await pools.open(options(stateDir));
      const heartbeat = { intervalMs: 200, expiryMs: 2000 };
      const worker = await workers.start({
        mode: "idle",
        id: 1,
        host: target.workerHost,
        options: options(stateDir, { heartbeat }),
        hold: { cpus: [5] },
      } satisfies WorkerConfig);
      const { anchor } = await worker.waitFor((m) => m.type === "holding");
      worker.kill("SIGSTOP");
      await waitUntilGone(anchor as number);
      // Meanwhile its owner is reclaimable: others see it dead.
      expect((await pool.leases()).owners.map((owner) => [owner.owner, owner.alive])).toEqual([
        ["idle-1", false],
      ]);
      worker.kill("SIGCONT");
      worker.send("leases");
      const seen = await worker.waitFor((m) => m.type === "leases");
      expect(seen.anchor).not.toBe(anchor);
      expect(seen.owners).toEqual([
        { owner: "idle-1", alive: true, holder: seen.anchor, mine: true },
      ]);
      worker.send("exit");
      await worker.waitFor((m) => m.type === "closed");
      expect((await pool.leases()).owners).toEqual([]);
    });

    test("a stopped controller whose owner was reclaimed meanwhile does not get it back", async ({
      pools,
      target,
      workers,
    }) => {
      const { stateDir } = pools;
      const pool = await pools.open(options(stateDir));
      const worker = await workers.start({
        mode: "idle",
        id: 2,
        host: target.workerHost,
        options: options(stateDir, { heartbeat: { intervalMs: 200, expiryMs: 2000 } }),
        hold: { cpus: [6] },
      } satisfies WorkerConfig);
      const { anchor } = await worker.waitFor((m) => m.type === "holding");
      worker.kill("SIGSTOP");
      await waitUntilGone(anchor as number);
      expect((await pool.reclaim()).map((owner) => owner.owner)).toEqual(["idle-2"]);
      expect((await pool.leaseCpus("taker", [6])).length).toBe(1);
      worker.kill("SIGCONT");
      worker.send("leases");
      const seen = await worker.waitFor((m) => m.type === "leases");
      expect(seen.owners).toEqual([
        { owner: "taker", alive: true, holder: pool.holder.pid, mine: false },
      ]);
      worker.send("exit");
      await worker.waitFor((m) => m.type === "closed");
    });
  });
}

describe("a host without the tools", () => {
  test("openPool says which tool is missing (ERR_POOL_HOST)", async ({ tempDir, workers }) => {
    const bin = join(tempDir.path, "bin");
    await mkdir(bin);
    for (const tool of ["awk", "mv", "sleep", "id", "head", "mkdir", "stat", "rm"])
      await symlink(`/usr/bin/${tool}`, join(bin, tool)).catch(() =>
        symlink(`/bin/${tool}`, join(bin, tool)),
      );
    const worker = await workers.start(
      {
        mode: "idle",
        id: 1,
        host: { transport: "local" },
        options: { stateDir: join(tempDir.path, "state") },
        hold: { cpus: [0] },
      } satisfies WorkerConfig,
      { env: { ...process.env, PATH: bin } },
    );
    const failed = await worker.waitFor((m) => m.type === "open-failed" || m.type === "holding");
    expect(failed).toMatchObject({
      type: "open-failed",
      code: "ERR_POOL_HOST",
      reason: "missing-tool",
    });
    expect(failed.message).toMatch(/flock is not installed/);
  });
});
