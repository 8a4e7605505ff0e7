/** The conformance suite's processes: spawn, /proc facts and signals, waiting, the lifecycle. */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { isAliveNow, startTimeNow, waitUntilGone } from "@qemu-kvm/testkit";
import { describe, expect } from "vitest";
import { type ConformanceTest, readUntil } from "../helpers/conformance-test.js";
import { readPids } from "../helpers/pids.js";
import { startZombie, stateNow } from "../helpers/zombie.js";

export function processSuites(test: ConformanceTest): void {
  describe("spawn", () => {
    test("streams stdin and stdout interactively; exited resolves after stdin ends", async ({
      host,
      track,
    }) => {
      const cat = track.process(host.spawn("cat"));
      cat.stderr.resume();
      cat.stdin.write("ping 1\n");
      expect(await readUntil(cat.stdout, "ping 1\n")).toBe("ping 1\n");
      cat.stdin.write("ping 2\n");
      expect(await readUntil(cat.stdout, "ping 2\n")).toBe("ping 2\n");
      cat.stdin.end();
      cat.stdout.resume();
      expect(await cat.exited).toMatchObject({ exitCode: 0, signal: null });
    });

    test("pid names the process on the host (cmdline = argv); kill() signals it and its children", async ({
      host,
      dir,
      track,
    }) => {
      const pidsFile = join(dir, "pids");
      const shell = track.process(
        host.spawn("sh", ["-c", `sleep 1000 & echo $! > '${pidsFile}'; wait`]),
      );
      shell.stdout.resume();
      shell.stderr.resume();
      const pid = await shell.pid;
      const [child] = await readPids(pidsFile, 1);
      expect((await host.processInfo(pid))?.cmdline).toEqual([
        "sh",
        "-c",
        `sleep 1000 & echo $! > '${pidsFile}'; wait`,
      ]);
      expect(await shell.kill("SIGTERM")).toBe(true);
      expect(await shell.exited).toMatchObject({ exitCode: null, signal: "SIGTERM" });
      await waitUntilGone([pid, child!]);
      expect(await shell.kill("SIGTERM")).toBe(false);
    });

    test("stop() escalates to SIGKILL; an aborted signal rejects exited with ERR_ABORTED", async ({
      host,
      track,
    }) => {
      const stubborn = host.spawn(
        "sh",
        ["-c", "trap '' TERM; echo ready; while :; do sleep 1; done"],
        {
          forceKillAfterMs: 300,
        },
      );
      track.process(stubborn).stderr.resume();
      await readUntil(stubborn.stdout, "ready");
      stubborn.stdout.resume();
      expect(await stubborn.stop()).toMatchObject({ signal: "SIGKILL" });

      const controller = new AbortController();
      const sleeper = track.process(host.spawn("sleep", ["1000"], { signal: controller.signal }));
      const pid = await sleeper.pid;
      controller.abort(new Error("stop it"));
      await expect(sleeper.exited).rejects.toMatchObject({ code: "ERR_ABORTED" });
      await waitUntilGone([pid]);
    });

    test("a program that cannot start rejects pid and exited with ERR_HOST_SPAWN", async ({
      host,
    }) => {
      const missing = host.spawn("qk-no-such-command-y");
      await expect(missing.pid).rejects.toMatchObject({
        code: "ERR_HOST_SPAWN",
        reason: "not-found",
      });
      await expect(missing.exited).rejects.toMatchObject({ code: "ERR_HOST_SPAWN" });
    });
  });

  describe("processes", () => {
    test("processInfo gives cmdline and start time; isAlive and kill check the start time", async ({
      host,
      track,
    }) => {
      const sleeper = track.process(host.spawn("sleep", ["1000"]));
      const pid = await sleeper.pid;
      const info = await host.processInfo(pid);
      expect(info).toMatchObject({
        pid,
        cmdline: ["sleep", "1000"],
        startTime: startTimeNow(pid),
      });
      expect(info!.state).toMatch(/^(running|sleeping|disk-sleep)$/);
      expect(await host.isAlive(pid)).toBe(true);
      expect(await host.isAlive(pid, { startTime: info!.startTime })).toBe(true);
      expect(await host.isAlive(pid, { startTime: info!.startTime + 1n })).toBe(false);
      expect(await host.kill(pid, "SIGTERM", { startTime: info!.startTime + 1n })).toBe(false);
      expect(isAliveNow(pid)).toBe(true);
      expect(await host.kill(pid, "SIGTERM", { startTime: info!.startTime })).toBe(true);
      expect(await sleeper.exited).toMatchObject({ signal: "SIGTERM" });
      await waitUntilGone([pid]);
      expect(await host.isAlive(pid)).toBe(false);
      expect(await host.kill(pid, 15)).toBe(false);
    });

    test("a pid that does not exist has no info; invalid pids and signals are refused", async ({
      host,
    }) => {
      let unused = 4_000_000;
      while (existsSync(`/proc/${unused}`)) unused--;
      expect(await host.processInfo(unused)).toBeUndefined();
      expect(await host.isAlive(unused)).toBe(false);
      expect(await host.kill(unused, "SIGKILL")).toBe(false);
      for (const pid of [0, -1, 1.5, Number.NaN])
        expect(() => host.kill(pid)).toThrow(
          expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "pid" }),
        );
      expect(() => host.kill(process.pid, "SIGNOPE" as NodeJS.Signals)).toThrow(
        expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "signal" }),
      );
    });
  });

  describe("lifecycle", () => {
    test("close() lets calls in flight finish, stops spawned processes, then refuses calls", async ({
      openHost,
    }) => {
      const own = await openHost();
      const sleeper = own.spawn("sleep", ["1000"]);
      const pid = await sleeper.pid;
      const running = own.exec("sh", ["-c", "read line; echo done"], { input: "go\n" });
      await own.close();
      expect((await running).stdout).toBe("done\n");
      expect(await sleeper.exited).toMatchObject({ signal: "SIGTERM" });
      await waitUntilGone([pid]);
      await expect(own.exec("true")).rejects.toMatchObject({ code: "ERR_HOST_CLOSED" });
      await expect(own.readFile("/etc/hostname")).rejects.toMatchObject({
        code: "ERR_HOST_CLOSED",
      });
      await expect(own.spawn("true").exited).rejects.toMatchObject({ code: "ERR_HOST_CLOSED" });
      await own.close();
    });

    test("destroy() rejects calls in flight with ERR_HOST_CLOSED and kills spawned processes", async ({
      dir,
      openHost,
    }) => {
      const own = await openHost();
      const pidsFile = join(dir, "pids");
      const sleeper = own.spawn("sleep", ["1000"]);
      const pid = await sleeper.pid;
      const running = own.exec("sh", ["-c", `echo $$ > '${pidsFile}'; exec sleep 1000`]);
      const [execPid] = await readPids(pidsFile, 1);
      const reason = new Error("test over");
      own.destroy(reason);
      await expect(running).rejects.toMatchObject({ code: "ERR_HOST_CLOSED", cause: reason });
      await expect(sleeper.exited).rejects.toMatchObject({ code: "ERR_HOST_CLOSED" });
      await waitUntilGone([pid, execPid!]);
      await expect(own.exec("true")).rejects.toMatchObject({ code: "ERR_HOST_CLOSED" });
    });
  });

  describe("processes that are not our children", () => {
    test("a zombie: processInfo says so, it is not alive, it is not signalled, waitForExit returns", async ({
      host,
    }) => {
      const { pid, parent } = await startZombie();
      try {
        const info = await host.processInfo(pid);
        expect(info).toMatchObject({ pid, state: "zombie", cmdline: [], ppid: parent.pid });
        expect(await host.isAlive(pid)).toBe(false);
        expect(await host.kill(pid, "SIGKILL")).toBe(false);
        expect(await host.kill(pid, "SIGKILL", { startTime: info!.startTime })).toBe(false);
        await host.waitForExit(pid, { timeoutMs: 30_000 });
        await host.waitForExit(pid, { startTime: info!.startTime, timeoutMs: 30_000 });
        expect(stateNow(pid)).toBe("Z");
      } finally {
        parent.kill("SIGKILL");
      }
    });

    test("waitForExit waits while the process runs and resolves once it is gone; deadlines, aborts, start times", async ({
      host,
      dir,
    }) => {
      const pidsFile = join(dir, "pids");
      // Started by a shell that exits at once: an orphan, nobody's child here.
      await host.exec("sh", ["-c", `sleep 1000 >/dev/null 2>&1 & echo $! > '${pidsFile}'`]);
      const [pid] = await readPids(pidsFile, 1);
      const { startTime } = (await host.processInfo(pid!))!;
      await expect(host.waitForExit(pid!, { timeoutMs: 300 })).rejects.toMatchObject({
        code: "ERR_TIMEOUT",
        timeoutMs: 300,
        host: host.name,
      });
      const controller = new AbortController();
      const aborted = host.waitForExit(pid!, { signal: controller.signal });
      controller.abort(new Error("no more"));
      await expect(aborted).rejects.toMatchObject({ code: "ERR_ABORTED" });
      // Another process's start time: not the one waited for, so it is "gone".
      await host.waitForExit(pid!, { startTime: startTime + 1n, timeoutMs: 30_000 });
      const waiting = host.waitForExit(pid!, { startTime, timeoutMs: 60_000 });
      process.kill(pid!, "SIGTERM");
      await waiting;
      expect(await host.isAlive(pid!)).toBe(false);
      let unused = 4_000_000;
      while (existsSync(`/proc/${unused}`)) unused--;
      await host.waitForExit(unused, { timeoutMs: 30_000 });
      expect(() => host.waitForExit(0)).toThrow(
        expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "pid" }),
      );
      expect(() => host.waitForExit(pid!, { startTime: 5 as unknown as bigint })).toThrow(
        expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "startTime" }),
      );
    });

    test("architecture is uname -m of the host", async ({ host }) => {
      const expected = execFileSync("uname", ["-m"], { encoding: "utf8" }).trim();
      expect(await host.architecture()).toBe(expected);
      expect(await host.architecture({ timeoutMs: 30_000 })).toBe(expected);
    });
  });
}
