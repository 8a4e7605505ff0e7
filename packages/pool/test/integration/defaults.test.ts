/**
 * The default state directory: root's pool is /run/qemu-kvm/pool; another
 * user's is $XDG_RUNTIME_DIR/qemu-kvm/pool when that directory is theirs, else
 * /tmp/qemu-kvm-pool-UID, created private, and refused when someone else made
 * it first (a directory planted in /tmp must not capture the pool).
 * Local only: the worker runs as `nobody`, which needs this process to be root.
 * `nobody` may not be able to read the checkout (a clone in a directory only
 * root can enter): the worker runs from a bundle carried to a directory only
 * `nobody` can read (see ../helpers/workers.ts).
 */
import { existsSync } from "node:fs";
import { chown, mkdir, mkdtemp, readdir, rm, rmdir, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLocalHost } from "@qemu-kvm/host";
import { describe, expect, onTestFinished } from "vitest";
import { openPool } from "../../src/index.js";
import { test } from "../helpers/fixtures.js";
import type { WorkerConfig } from "../helpers/worker.js";

const root = process.getuid?.() === 0;
const NOBODY = { uid: 65534, gid: 65534 };
const NOBODY_DIR = `/tmp/qemu-kvm-pool-${NOBODY.uid}`;
/** nobody's environment: no XDG_RUNTIME_DIR unless a test gives one. */
const { XDG_RUNTIME_DIR: _runtimeDir, ...inherited } = process.env;
const NOBODY_ENV = { ...inherited, HOME: "/tmp" };

/** Removes nobody's default pool directory, now and after the test. */
async function clearNobodyDir(): Promise<void> {
  await rm(NOBODY_DIR, { recursive: true, force: true });
  onTestFinished(() => rm(NOBODY_DIR, { recursive: true, force: true }));
}

describe.runIf(root)("the default state directory", () => {
  test("root's pool is /run/qemu-kvm/pool", async () => {
    // The host's real pool: other runs may use it, so only what this test created is removed.
    const created = ["/run/qemu-kvm", "/run/qemu-kvm/pool"].filter((path) => !existsSync(path));
    const host = createLocalHost();
    const pool = await openPool(host, { topology: { cpus: { online: [0] } } });
    try {
      expect(pool.statePath).toBe("/run/qemu-kvm/pool/state.jsonl");
      expect((await stat("/run/qemu-kvm/pool")).mode & 0o777).toBe(0o700);
      await pool.leases();
    } finally {
      await pool.close();
      await host.close();
      if (
        created.includes("/run/qemu-kvm/pool") &&
        (await readdir("/run/qemu-kvm/pool")).join() === "lock"
      ) {
        await rm("/run/qemu-kvm/pool/lock");
        for (const path of created.reverse()) await rmdir(path).catch(() => {});
      }
    }
  });

  test("another user's pool is /tmp/qemu-kvm-pool-UID, private to that user", async ({
    workers,
  }) => {
    await clearNobodyDir();
    const worker = await workers.start(
      { mode: "open", id: 1, host: { transport: "local" }, options: {} } satisfies WorkerConfig,
      { env: NOBODY_ENV, user: NOBODY },
    );
    const opened = await worker.waitFor((m) => m.type === "opened" || m.type === "open-failed");
    expect(opened).toMatchObject({ type: "opened", statePath: `${NOBODY_DIR}/state.jsonl` });
    const info = await stat(NOBODY_DIR);
    expect([info.uid, info.mode & 0o777]).toEqual([NOBODY.uid, 0o700]);
    expect((await worker.exited).code).toBe(0);
  });

  test("a directory another user planted at that path is refused", async ({ workers }) => {
    await clearNobodyDir();
    await mkdir(NOBODY_DIR, { mode: 0o777 });
    const worker = await workers.start(
      { mode: "open", id: 2, host: { transport: "local" }, options: {} } satisfies WorkerConfig,
      { env: NOBODY_ENV, user: NOBODY },
    );
    const failed = await worker.waitFor((m) => m.type === "opened" || m.type === "open-failed");
    expect(failed).toMatchObject({
      type: "open-failed",
      code: "ERR_POOL_UNSAFE",
      reason: expect.stringMatching(/belongs to another user/),
    });
  });

  test("another user's pool is $XDG_RUNTIME_DIR/qemu-kvm/pool when that directory is theirs", async ({
    workers,
  }) => {
    await clearNobodyDir();
    const runtimeDir = await mkdtemp(join(tmpdir(), "qk-xdg-"));
    onTestFinished(() => rm(runtimeDir, { recursive: true, force: true }));
    await chown(runtimeDir, NOBODY.uid, NOBODY.gid);
    const worker = await workers.start(
      { mode: "open", id: 3, host: { transport: "local" }, options: {} } satisfies WorkerConfig,
      { env: { ...NOBODY_ENV, XDG_RUNTIME_DIR: runtimeDir }, user: NOBODY },
    );
    const opened = await worker.waitFor((m) => m.type === "opened" || m.type === "open-failed");
    expect(opened).toMatchObject({
      type: "opened",
      statePath: `${runtimeDir}/qemu-kvm/pool/state.jsonl`,
    });
    for (const dir of ["qemu-kvm", "qemu-kvm/pool"]) {
      const info = await stat(join(runtimeDir, dir));
      expect([info.uid, info.mode & 0o777]).toEqual([NOBODY.uid, 0o700]);
    }
    expect(existsSync(NOBODY_DIR)).toBe(false);
    expect((await worker.exited).code).toBe(0);
  });

  test("an XDG_RUNTIME_DIR that is not theirs (inherited from another user) is not used", async ({
    tempDir,
    workers,
  }) => {
    await clearNobodyDir();
    const worker = await workers.start(
      { mode: "open", id: 4, host: { transport: "local" }, options: {} } satisfies WorkerConfig,
      { env: { ...NOBODY_ENV, XDG_RUNTIME_DIR: tempDir.path }, user: NOBODY },
    );
    const opened = await worker.waitFor((m) => m.type === "opened" || m.type === "open-failed");
    expect(opened).toMatchObject({ type: "opened", statePath: `${NOBODY_DIR}/state.jsonl` });
    expect(await readdir(tempDir.path)).toEqual([]);
  });
});
