/**
 * A state directory shared with a hostile user: `nobody` plants symbolic links
 * and files where the pool (run as root) will look, and the pool must refuse
 * them, with a coded error, without writing, truncating or creating anything
 * through them. Run against both transports, like ./pool-suite.ts. Needs root.
 *
 * The kernel may stop some of these attacks on its own (`fs.protected_symlinks`,
 * `fs.protected_regular`); the tests expect the same outcome either way.
 */
import { existsSync } from "node:fs";
import { chmod, lstat, mkdir, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect } from "vitest";
import type { PoolOptions } from "../../src/index.js";
import type { PoolKit, TargetTest } from "../helpers/fixtures.js";
import {
  FORGED_STATE,
  nobody,
  plantFile,
  plantSymlink,
  sharedDir,
  Victim,
} from "../helpers/neighbour.js";
import { readState } from "../helpers/state-file.js";

const root = process.getuid?.() === 0;
const TOPOLOGY = { cpus: { online: [0, 1, 2, 3] } };

function open(pools: PoolKit, stateDir: string, options: PoolOptions = {}) {
  return pools.open({ stateDir, topology: TOPOLOGY, ...options });
}

/** Whether `path` is a regular file of this user's with `mode`. */
async function ours(path: string): Promise<[boolean, number, number]> {
  const info = await lstat(path);
  return [info.isFile(), info.uid, info.mode & 0o7777];
}

export function neighbourSuite(test: TargetTest, name: "local" | "ssh"): void {
  describe.runIf(root)(`a state directory shared with another user, over ${name}`, () => {
    test("a lock planted as a symbolic link is refused (ERR_POOL_UNSAFE): its target is neither written nor created", async ({
      pools,
      tempDir,
    }) => {
      const victim = await Victim.create(join(tempDir.path, "victim"));
      const missing = join(tempDir.path, "created-through-the-link");
      for (const target of [victim.path, missing]) {
        const shared = await sharedDir(0o1777);
        await plantSymlink(target, join(shared, "lock"));
        await expect(open(pools, shared)).rejects.toMatchObject({
          code: "ERR_POOL_UNSAFE",
          kind: "lock",
          path: join(shared, "lock"),
          reason: expect.stringMatching(/symbolic link/),
        });
        expect(await readdir(shared)).toEqual(["lock"]);
      }
      await victim.expectUntouched();
      expect(existsSync(missing)).toBe(false);
    });

    test("a lock another user made, or one others may open, is refused (ERR_POOL_UNSAFE)", async ({
      pools,
    }) => {
      const shared = await sharedDir(0o1777);
      const lock = join(shared, "lock");
      await plantFile(lock, "");
      await expect(open(pools, shared)).rejects.toMatchObject({
        code: "ERR_POOL_UNSAFE",
        kind: "lock",
        path: lock,
        reason: expect.stringMatching(/belongs to another user/),
        message: expect.stringContaining(`refused the lock file ${lock}`),
      });
      // Ours, but anybody may open (and hold) it: refused too, until its mode is fixed.
      await rm(lock);
      await writeFile(lock, "", { mode: 0o644 });
      await chmod(lock, 0o644);
      await expect(open(pools, shared)).rejects.toMatchObject({
        code: "ERR_POOL_UNSAFE",
        kind: "lock",
        reason: expect.stringMatching(/mode 644 grants more than the pool's file mode 600/),
      });
      await chmod(lock, 0o600);
      await (await open(pools, shared)).leases();
    });

    test("a state file another user made, or a symbolic link in its place, is refused (ERR_POOL_UNSAFE) and left as it is", async ({
      pools,
      tempDir,
    }) => {
      const shared = await sharedDir(0o1777);
      const pool = await open(pools, shared);
      await pool.leases();
      const state = join(shared, "state.jsonl");

      await plantFile(state, FORGED_STATE);
      const planted = await lstat(state);
      await expect(pool.leases()).rejects.toMatchObject({
        code: "ERR_POOL_UNSAFE",
        kind: "state-file",
        path: state,
        reason: expect.stringMatching(/belongs to another user/),
      });
      await expect(pool.leaseCpus("vm0", 1)).rejects.toMatchObject({ code: "ERR_POOL_UNSAFE" });
      expect((await lstat(state)).mtimeMs).toBe(planted.mtimeMs);
      expect((await lstat(state)).uid).toBe((await nobody()).uid);

      // The same forged state, in a file of ours the link points to.
      const victim = await Victim.create(join(tempDir.path, "victim"), FORGED_STATE);
      await rm(state);
      await plantSymlink(victim.path, state);
      await expect(pool.leases()).rejects.toMatchObject({
        code: "ERR_POOL_UNSAFE",
        kind: "state-file",
        path: state,
        reason: expect.stringMatching(/symbolic link/),
      });
      await expect(pool.leaseCpus("vm0", 1)).rejects.toMatchObject({ code: "ERR_POOL_UNSAFE" });
      expect((await lstat(state)).isSymbolicLink()).toBe(true);
      await victim.expectUntouched();
    });

    test("the temporary file's name cannot be predicted: a link planted under the name derived from the anchor's pid is never written through", async ({
      pools,
      tempDir,
    }) => {
      const victim = await Victim.create(join(tempDir.path, "victim"));
      const shared = await sharedDir(0o1777);
      const pool = await open(pools, shared);
      expect((await pool.leaseCpus("vm0", [0])).length).toBe(1);
      await plantSymlink(victim.path, join(shared, `state.jsonl.${pool.holder.pid}.tmp`));
      expect((await pool.leaseCpus("vm1", [1])).length).toBe(1);
      expect((await pool.leaseCpus("vm2", [2])).length).toBe(1);
      await victim.expectUntouched();
      expect(await ours(join(shared, "state.jsonl"))).toEqual([true, process.getuid!(), 0o600]);
      expect(
        (await readState(shared)).leases.map((lease) => (lease.lease === "cpu" ? lease.cpu : -1)),
      ).toEqual([0, 1, 2]);
    });

    test("the directory: a symbolic link, another user's, or writable by others without the sticky bit is refused (ERR_POOL_UNSAFE) and nothing is made in it", async ({
      pools,
      tempDir,
    }) => {
      const { uid, gid } = await nobody();
      const target = join(tempDir.path, "target");
      await mkdir(target, { mode: 0o700 });
      const link = join(tempDir.path, "link");
      await symlink(target, link);
      const cases: [string, string, RegExp][] = [
        ["a symbolic link", link, /is a symbolic link/],
        ["nobody's", await sharedDir(0o700, { uid, gid }), /belongs to another user/],
        [
          "group-writable",
          await sharedDir(0o775, { gid }),
          /its group or others may write in it, and it lacks the sticky bit \(mode 775\)/,
        ],
        ["setgid, group-writable", await sharedDir(0o2770, { gid }), /lacks the sticky bit/],
        ["world-writable", await sharedDir(0o777), /lacks the sticky bit/],
      ];
      for (const [what, stateDir, message] of cases) {
        await expect(open(pools, stateDir), what).rejects.toMatchObject({
          code: "ERR_POOL_UNSAFE",
          kind: "state-dir",
          path: stateDir,
          reason: expect.stringMatching(message),
        });
        expect(await readdir(stateDir), what).toEqual([]);
      }
    });

    test("a sticky directory others may write in is accepted; the files in it are ours and private", async ({
      pools,
    }) => {
      const { gid } = await nobody();
      for (const mode of [0o1777, 0o1770, 0o3770]) {
        const shared = await sharedDir(mode, { gid });
        const pool = await open(pools, shared);
        expect((await pool.leaseCpus("vm0", 1)).length).toBe(1);
        const me = process.getuid!();
        expect(await ours(join(shared, "lock"))).toEqual([true, me, 0o600]);
        expect(await ours(join(shared, "state.jsonl"))).toEqual([true, me, 0o600]);
        expect((await readdir(shared)).sort()).toEqual(["lock", "state.jsonl"]);
      }
    });
  });
}
