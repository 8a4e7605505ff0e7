/**
 * The conformance suite's default deadlines: a call that gives no `timeoutMs`
 * still ends when the peer is live but stuck (a command that never ends, a
 * FIFO whose other end never comes or never writes), with `ERR_TIMEOUT` at the
 * host's default. The defaults are made short here with `defaultTimeouts`;
 * `timeoutMs: Infinity` still waits for ever.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { waitUntilGone } from "@qemu-kvm/testkit";
import { describe, expect, onTestFinished } from "vitest";
import { TimeoutError } from "../../src/index.js";
import type { ConformanceTest } from "../helpers/conformance-test.js";
import { readPids } from "../helpers/pids.js";

const SHORT_MS = 400;

/** A local process (the stuck peer), killed after the test. */
function peer(script: string): ChildProcess {
  const child = spawn("sh", ["-c", script], { stdio: "ignore" });
  onTestFinished(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGKILL");
    await once(child, "exit");
  });
  return child;
}

export function deadlineSuites(test: ConformanceTest): void {
  describe("default deadlines", () => {
    test("a command that never ends is stopped at the host's default for exec; timeoutMs overrides it", async ({
      openHost,
      dir,
    }) => {
      const host = await openHost({ defaultTimeouts: { exec: SHORT_MS } });
      const pidsFile = join(dir, "pids");
      const stuck = host.exec("sh", ["-c", `echo $$ >> '${pidsFile}'; exec sleep 1000`]);
      const [pid] = await readPids(pidsFile, 1);
      const error = await stuck.catch((caught: unknown) => caught);
      expect(error).toMatchObject({
        code: "ERR_TIMEOUT",
        timeoutMs: SHORT_MS,
        operation: expect.stringMatching(/^exec sh /),
        message: expect.stringContaining("the default deadline of exec"),
      });
      expect(TimeoutError.isInstance(error)).toBe(true);
      await waitUntilGone([pid!]);
      // An explicit deadline, longer or none at all, is the caller's.
      const [forever, longer] = await Promise.all([
        host.exec("sleep", ["0.8"], { timeoutMs: Number.POSITIVE_INFINITY }),
        host.exec("sleep", ["0.8"], { timeoutMs: 60_000 }),
      ]);
      expect([forever.exitCode, longer.exitCode]).toEqual([0, 0]);
      // Other operations keep theirs.
      expect(await host.exists(dir)).toBe(true);
    });

    test("readFile of a FIFO nobody writes to, writeFile to one nobody reads: ERR_TIMEOUT at the defaults", async ({
      openHost,
      dir,
    }) => {
      const host = await openHost({ defaultTimeouts: { readFile: SHORT_MS, writeFile: SHORT_MS } });
      const unwritten = join(dir, "unwritten");
      const unread = join(dir, "unread");
      execFileSync("mkfifo", [unwritten, unread]);
      // Opening a FIFO waits for its other end (locally, and in the SFTP server).
      await expect(host.readFile(unwritten)).rejects.toMatchObject({
        code: "ERR_TIMEOUT",
        timeoutMs: SHORT_MS,
        operation: `readFile ${unwritten}`,
        message: expect.stringContaining("the default deadline of readFile"),
      });
      await expect(host.writeFile(unread, "never read")).rejects.toMatchObject({
        code: "ERR_TIMEOUT",
        timeoutMs: SHORT_MS,
        operation: `writeFile ${unread}`,
      });
      // The other ends come: whatever still waits on the FIFOs ends.
      await once(peer(`exec : > '${unwritten}'`), "exit");
      await once(peer(`exec cat '${unread}' > /dev/null`), "exit");
      // The host still works, within its defaults.
      await host.writeFile(join(dir, "plain"), "ok");
      expect(await host.readFile(join(dir, "plain"), { encoding: "utf8" })).toBe("ok");
    });
  });
}
