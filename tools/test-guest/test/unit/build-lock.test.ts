import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, test } from "vitest";
import { acquireBuildLock } from "../../src/build-lock.js";

const name = () => `qemu-kvm-test-lock-${process.pid}-${Math.random().toString(16).slice(2)}`;

describe("build lock", () => {
  test("a second taker waits until the first releases, and learns the holder's pid", async () => {
    const lockName = name();
    const first = await acquireBuildLock(lockName);
    let secondTaken = false;
    let reportHolder: (pid: number | undefined) => void = () => {};
    const holderReported = new Promise<number | undefined>((resolve) => {
      reportHolder = resolve;
    });
    const second = acquireBuildLock(lockName, { onWait: reportHolder }).then((lock) => {
      secondTaken = true;
      return lock;
    });
    // The waiter reports the holder as soon as it is connected to it.
    expect(await holderReported).toBe(process.pid);
    expect(secondTaken).toBe(false);
    await first.release();
    const lock = await second;
    expect(secondTaken).toBe(true);
    await lock.release();
  });

  test("a holder that dies (SIGKILL) releases the lock: no stale lock", async () => {
    const lockName = name();
    const holder = spawn(
      process.execPath,
      [
        "-e",
        // A holder speaking the lock's protocol (it tells its pid), then killed.
        `require("node:net").createServer((s) => s.write(process.pid + "\\n"))` +
          `.listen("\\0" + process.argv[1], () => console.log("held"))`,
        lockName,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      const [line] = (await once(holder.stdout!, "data")) as [Buffer];
      expect(line.toString()).toContain("held");
      let waiting: () => void = () => {};
      const isWaiting = new Promise<void>((resolve) => {
        waiting = resolve;
      });
      let holderPid: number | undefined;
      const taken = acquireBuildLock(lockName, {
        timeoutMs: 10_000,
        onWait: (pid) => {
          holderPid ??= pid;
          waiting();
        },
      });
      await isWaiting; // connected to the holder, which never answers nor releases
      holder.kill("SIGKILL");
      const lock = await taken;
      expect(holderPid).toBe(holder.pid);
      await lock.release();
    } finally {
      holder.kill("SIGKILL");
    }
  });

  test("waiting ends with ERR_TIMEOUT at the deadline, and ERR_ABORTED on abort", async () => {
    const lockName = name();
    const held = await acquireBuildLock(lockName);
    try {
      await expect(acquireBuildLock(lockName, { timeoutMs: 200 })).rejects.toMatchObject({
        code: "ERR_TIMEOUT",
      });
      const controller = new AbortController();
      const waiting = acquireBuildLock(lockName, { signal: controller.signal });
      controller.abort(new Error("stop"));
      await expect(waiting).rejects.toMatchObject({ code: "ERR_ABORTED" });
    } finally {
      await held.release();
    }
    // After all that, the lock is free.
    await (await acquireBuildLock(lockName, { timeoutMs: 1_000 })).release();
  });
});
