/**
 * The conformance suite: every `Host` implementation must pass it unchanged.
 * It runs against `createLocalHost()`, against `connectSshHost()` connected to
 * a real OpenSSH server on loopback (testkit's `sshd` fixture), and against
 * `connectSshHost({ sock })` over a stream to that server, so the files,
 * sockets and processes it checks are on this machine either way. The suites
 * are in this file (commands) and the `conformance-*.ts` files beside it.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { waitUntilGone } from "@qemu-kvm/testkit";
import { describe, expect } from "vitest";
import { TimeoutError } from "../../src/index.js";
import {
  conformanceTest,
  NODE,
  printedArgv,
  sha256,
  type TransportName,
} from "../helpers/conformance-test.js";
import { hostileArguments } from "../helpers/hostile-arguments.js";
import { readPids } from "../helpers/pids.js";
import { writeScript } from "../helpers/scripts.js";
import { deadlineSuites } from "./conformance-deadlines.js";
import { environmentSuites } from "./conformance-environment.js";
import { fileSuites } from "./conformance-files.js";
import { pathSuites } from "./conformance-paths.js";
import { processSuites } from "./conformance-processes.js";

export function hostConformance(name: TransportName): void {
  const test = conformanceTest(name);

  describe(`${name} conformance`, () => {
    describe("exec: argv", () => {
      test("hostile arguments arrive unchanged as argv and never execute", async ({
        host,
        dir,
      }) => {
        const marker = join(dir, "executed");
        const args = hostileArguments(marker);
        const { argv } = await printedArgv(host, dir, args);
        expect(argv).toEqual(args);
        expect(existsSync(marker)).toBe(false);
      });

      test("a hostile program path is run as that file", async ({ host, dir }) => {
        const odd = join(dir, `dir with 'quotes' "and" $(touch x) ;`);
        await mkdir(odd);
        const script = join(odd, "print $0 `x`");
        await writeScript(script, `printf '%s\\n' "$0" "$@"`);
        const { stdout } = await host.exec(script, ["a b", "$HOME"]);
        expect(stdout).toBe(`${script}\na b\n$HOME\n`);
      });

      test("environment values and the working directory arrive unchanged; undefined removes a variable", async ({
        host,
        dir,
      }) => {
        const cwd = join(dir, "it's a dir; $(x)");
        await mkdir(cwd);
        const value = "a 'b' \"c\" $(touch x) `y` \n ; * é";
        const { env, cwd: seen } = await printedArgv(host, dir, [], {
          cwd,
          env: { QK_VALUE: value, QK_EMPTY: "", HOME: undefined },
        });
        expect(env.QK_VALUE).toBe(value);
        expect(env.QK_EMPTY).toBe("");
        expect(env.HOME).toBeUndefined();
        expect(seen).toBe(cwd);
        expect(existsSync(join(cwd, "x"))).toBe(false);
      });

      test("what no process can receive is refused synchronously, before anything runs", async ({
        host,
        dir,
      }) => {
        const marker = join(dir, "ran");
        const call =
          (args: string[], options = {}) =>
          () =>
            host.exec("touch", [marker, ...args], options);
        const invalid = (field?: string) =>
          expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", ...(field ? { field } : {}) });
        expect(call(["a\0b"])).toThrow(invalid("args[1]"));
        expect(call(["\uD800"])).toThrow(invalid("args[1]"));
        expect(call([], { env: { "A=B": "x" } })).toThrow(invalid("env.A=B"));
        expect(call([], { env: { OK: "nul\0" } })).toThrow(invalid("env.OK"));
        expect(call([], { cwd: "/tmp\0" })).toThrow(invalid("cwd"));
        expect(() => host.exec("", [])).toThrow(invalid("file"));
        expect(call([], { timeoutMs: -1 })).toThrow(invalid("options.timeoutMs"));
        expect(call([], { timeoutMs: Number.NaN })).toThrow(invalid("options.timeoutMs"));
        expect(call([], { sock: "/tmp/x" })).toThrow(invalid("options.sock"));
        expect(existsSync(marker)).toBe(false);
      });
    });

    describe("exec: results and failures", () => {
      test("stdout and stderr are returned exactly, with exit code, signal and duration", async ({
        host,
      }) => {
        const result = await host.exec("sh", ["-c", "printf 'out\\n\\n'; printf 'err' >&2"]);
        expect(result).toMatchObject({
          stdout: "out\n\n",
          stderr: "err",
          exitCode: 0,
          signal: null,
        });
        expect(result.argv).toEqual(["sh", "-c", "printf 'out\\n\\n'; printf 'err' >&2"]);
        expect(result.durationMs).toBeGreaterThan(0);
      });

      test("a non-zero exit rejects with ERR_HOST_EXIT carrying argv, exit code and stderr", async ({
        host,
      }) => {
        const failing = host.exec("sh", [
          "-c",
          "echo first >&2; echo 'the reason' >&2; exit 3",
          "x",
        ]);
        const error = await failing.then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error).toMatchObject({
          code: "ERR_HOST_EXIT",
          exitCode: 3,
          signal: null,
          argv: ["sh", "-c", "echo first >&2; echo 'the reason' >&2; exit 3", "x"],
          stderr: "first\nthe reason\n",
        });
        expect((error as Error).message).toMatch(/exited with 3[\s\S]*the reason/);
        expect(error).toHaveProperty("stderrTail", "first\nthe reason");
      });

      test("reject: false returns a failed result instead", async ({ host }) => {
        const result = await host.exec("sh", ["-c", "exit 42"], { reject: false });
        expect(result.exitCode).toBe(42);
      });

      test("a command killed by a signal reports the signal", async ({ host }) => {
        const result = await host.exec("sh", ["-c", "kill -s KILL $$"], { reject: false });
        expect(result).toMatchObject({ exitCode: null, signal: "SIGKILL" });
        await expect(host.exec("sh", ["-c", "kill -s TERM $$"])).rejects.toMatchObject({
          code: "ERR_HOST_EXIT",
          signal: "SIGTERM",
        });
      });

      test("a command that cannot start rejects with ERR_HOST_SPAWN and why", async ({
        host,
        dir,
      }) => {
        await expect(host.exec("qk-no-such-command-x")).rejects.toMatchObject({
          code: "ERR_HOST_SPAWN",
          reason: "not-found",
        });
        await expect(host.exec(join(dir, "missing"))).rejects.toMatchObject({
          reason: "not-found",
        });
        const plain = join(dir, "not-executable");
        await writeFile(plain, "#!/bin/sh\n", { mode: 0o644 });
        await expect(host.exec(plain)).rejects.toMatchObject({ reason: "not-executable" });
        await expect(host.exec("true", [], { cwd: join(dir, "no-dir") })).rejects.toMatchObject({
          code: "ERR_HOST_SPAWN",
          reason: "bad-cwd",
        });
      });

      test("10 MB on stdout and on stderr at once arrive intact (encoding: buffer)", async ({
        host,
        dir,
      }) => {
        const out = randomBytes(12 * 1024 * 1024);
        const err = randomBytes(10 * 1024 * 1024);
        await writeFile(join(dir, "out.bin"), out);
        await writeFile(join(dir, "err.bin"), err);
        const script =
          "const fs = require('fs');" +
          "process.stdout.write(fs.readFileSync(process.argv[1]));" +
          "process.stderr.write(fs.readFileSync(process.argv[2]));";
        const result = await host.exec(
          NODE,
          ["-e", script, join(dir, "out.bin"), join(dir, "err.bin")],
          {
            encoding: "buffer",
          },
        );
        expect(Buffer.isBuffer(result.stdout)).toBe(true);
        expect(result.stdout.length).toBe(out.length);
        expect(sha256(result.stdout)).toBe(sha256(out));
        expect(sha256(result.stderr)).toBe(sha256(err));
      });

      test("input is written to stdin (10 MB round trip); without input stdin is empty", async ({
        host,
      }) => {
        const input = randomBytes(10 * 1024 * 1024);
        const echoed = await host.exec("cat", [], { input, encoding: "buffer" });
        expect(sha256(echoed.stdout)).toBe(sha256(input));
        expect((await host.exec("cat", [], { input: "héllo\n" })).stdout).toBe("héllo\n");
        expect((await host.exec("cat")).stdout).toBe("");
      });

      test("output beyond maxBuffer stops the command with ERR_HOST_MAX_BUFFER", async ({
        host,
      }) => {
        await expect(
          host.exec("sh", ["-c", "while :; do echo yes; done"], { maxBuffer: 64 * 1024 }),
        ).rejects.toMatchObject({
          code: "ERR_HOST_MAX_BUFFER",
          stream: "stdout",
          maxBuffer: 64 * 1024,
        });
      });
    });

    describe("exec: timeouts and aborts leave no process behind", () => {
      // The command records its own pid and a child's, then waits: both must be gone.
      const family = (pids: string) =>
        `sleep 1000 & echo $! >> '${pids}'; echo $$ >> '${pids}'; wait`;

      test("a timeout rejects with ERR_TIMEOUT and stops the command and its children", async ({
        host,
        dir,
      }) => {
        const pidsFile = join(dir, "pids");
        const running = host.exec("sh", ["-c", `echo partial; ${family(pidsFile)}`], {
          timeoutMs: 3000,
        });
        const pids = await readPids(pidsFile, 2);
        const error = await running.catch((caught: unknown) => caught);
        expect(error).toMatchObject({
          code: "ERR_TIMEOUT",
          timeoutMs: 3000,
          argv: ["sh", "-c", `echo partial; ${family(pidsFile)}`],
          stdout: "partial\n",
          host: host.name,
        });
        expect(TimeoutError.isInstance(error)).toBe(true);
        await waitUntilGone(pids);
      });

      test("a command that ignores SIGTERM is killed after forceKillAfterMs", async ({
        host,
        dir,
      }) => {
        const pidsFile = join(dir, "pids");
        const controller = new AbortController();
        const running = host.exec("sh", ["-c", `trap '' TERM; ${family(pidsFile)}`], {
          signal: controller.signal,
          forceKillAfterMs: 500,
        });
        const pids = await readPids(pidsFile, 2);
        controller.abort(new Error("enough"));
        await expect(running).rejects.toMatchObject({ code: "ERR_ABORTED" });
        await waitUntilGone(pids);
      });

      test("an abort rejects with ERR_ABORTED (cause: the reason) and stops everything", async ({
        host,
        dir,
      }) => {
        const pidsFile = join(dir, "pids");
        const controller = new AbortController();
        const running = host.exec("sh", ["-c", family(pidsFile)], { signal: controller.signal });
        const pids = await readPids(pidsFile, 2);
        const reason = new Error("user pressed stop");
        controller.abort(reason);
        const error = await running.catch((caught: unknown) => caught);
        expect(error).toMatchObject({ code: "ERR_ABORTED", cause: reason });
        await waitUntilGone(pids);
      });

      test("a timeoutMs above 2^31-1 ms is honoured in full (not clamped to 1 ms)", async ({
        host,
      }) => {
        const result = await host.exec("sleep", ["0.3"], { timeoutMs: 2 ** 31 + 10 });
        expect(result.exitCode).toBe(0);
      });

      test("timeoutMs: Infinity is no deadline; 0 has already expired: ERR_TIMEOUT, nothing runs", async ({
        host,
        dir,
      }) => {
        expect((await host.exec("sleep", ["0.3"], { timeoutMs: Infinity })).exitCode).toBe(0);
        const marker = join(dir, "ran");
        const error = await host
          .exec("touch", [marker], { timeoutMs: 0 })
          .catch((caught) => caught);
        expect(error).toMatchObject({ code: "ERR_TIMEOUT", timeoutMs: 0, host: host.name });
        expect(TimeoutError.isInstance(error)).toBe(true);
        const spawned = host.spawn("touch", [marker], { timeoutMs: 0 });
        await expect(spawned.exited).rejects.toMatchObject({ code: "ERR_TIMEOUT" });
        await expect(host.writeFile(marker, "x", { timeoutMs: 0 })).rejects.toMatchObject({
          code: "ERR_TIMEOUT",
        });
        expect(existsSync(marker)).toBe(false);
      });

      test("an already-aborted signal rejects at once and runs nothing", async ({ host, dir }) => {
        const marker = join(dir, "ran");
        await expect(
          host.exec("touch", [marker], { signal: AbortSignal.abort(new Error("no")) }),
        ).rejects.toMatchObject({ code: "ERR_ABORTED" });
        expect(existsSync(marker)).toBe(false);
      });
    });

    environmentSuites(test);
    processSuites(test);
    fileSuites(test);
    pathSuites(test);
    deadlineSuites(test);
  });
}
