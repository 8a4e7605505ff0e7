/**
 * The conformance suite: every `Host` implementation must pass it unchanged.
 * It runs against `createLocalHost()` and against `connectSshHost()` connected
 * to a real OpenSSH server on loopback (testkit's `sshd` fixture), so the
 * files, sockets and processes it checks are on this machine either way.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { isAliveNow, startTimeNow, waitUntilGone } from "@qemu-kvm/testkit";
import { test as base } from "@qemu-kvm/testkit/fixtures";
import { describe, expect } from "vitest";
import {
  connectSshHost,
  createLocalHost,
  type ExecOptions,
  type Host,
  type HostProcess,
  TimeoutError,
} from "../../src/index.js";
import { hostileArguments } from "../helpers/hostile-arguments.js";
import { killRecorded, readPids } from "../helpers/pids.js";
import { writeArgvPrinter, writeScript } from "../helpers/scripts.js";
import { sshOptions } from "../helpers/ssh.js";

const NODE = process.execPath;

/** Opens a new connected host; every host it opened is closed after the file. */
type OpenHost = () => Promise<Host>;

function opener(open: () => Promise<Host>, onCleanup: (fn: () => Promise<void>) => void): OpenHost {
  const opened: Host[] = [];
  onCleanup(async () => {
    await Promise.allSettled(opened.map((host) => host.close()));
  });
  return async () => {
    const host = await open();
    opened.push(host);
    return host;
  };
}

/** The two transports, as testkit's `test` with a file-scoped `openHost`. */
const transports = {
  createLocalHost: base.extend("openHost", { scope: "file" }, async ({}, { onCleanup }) =>
    opener(async () => createLocalHost(), onCleanup),
  ),
  connectSshHost: base.extend("openHost", { scope: "file" }, async ({ sshd }, { onCleanup }) =>
    opener(() => connectSshHost(sshOptions(sshd)), onCleanup),
  ),
};

/** What a test started, stopped after it even when it fails. */
interface Tracker {
  process(process: HostProcess): HostProcess;
  server(server: Server): Server;
}

/** Reads a stream to the end as one Buffer. */
async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Reads from `stream` until the text seen so far includes `expected`. */
function readUntil(stream: NodeJS.ReadableStream, expected: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const onData = (chunk: Buffer) => {
      seen += chunk.toString("utf8");
      if (seen.includes(expected)) {
        stream.off("data", onData);
        resolve(seen);
      }
    };
    stream.on("data", onData);
    stream.once("end", () =>
      reject(new Error(`stream ended before ${JSON.stringify(expected)}: ${seen}`)),
    );
  });
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** An echo server on a unix socket or TCP port, closed by `close()`. */
async function echoServer(listen: (server: Server) => void): Promise<Server> {
  const server = createServer((socket) => socket.pipe(socket));
  listen(server);
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  return server;
}

async function roundTrip(stream: Duplex, data: Buffer): Promise<Buffer> {
  const received = collect(stream);
  stream.end(data);
  return received;
}

/** The argv, cwd and environment a command received, as a node script in `dir` prints them. */
async function printedArgv(
  host: Host,
  dir: string,
  args: string[],
  options: ExecOptions & { encoding?: "utf8" } = {},
) {
  const printer = await writeArgvPrinter(dir);
  const { stdout } = await host.exec(NODE, [printer, ...args], options);
  return JSON.parse(stdout) as { argv: string[]; cwd: string; env: Record<string, string> };
}

export function hostConformance(name: keyof typeof transports): void {
  const test = transports[name]
    .extend("host", { scope: "file" }, async ({ openHost }) => openHost())
    // The test's directory; the processes whose pids its commands wrote to `pids`
    // are killed after the test, even when it fails.
    .extend("dir", async ({ tempDir }, { onCleanup }) => {
      onCleanup(() => killRecorded(join(tempDir.path, "pids")));
      return tempDir.path;
    })
    .extend("printer", async ({ dir }) => writeArgvPrinter(dir))
    .extend("track", async ({ dir: _dir }, { onCleanup }): Promise<Tracker> => {
      const processes: HostProcess[] = [];
      const servers: Server[] = [];
      onCleanup(async () => {
        for (const process of processes) await process.stop().catch(() => {});
        for (const server of servers) server.close();
      });
      return {
        process: (process) => {
          processes.push(process);
          return process;
        },
        server: (server) => {
          servers.push(server);
          return server;
        },
      };
    });

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

    describe("files", () => {
      test("writeFile and readFile round-trip every byte value and 10 MB", async ({
        host,
        dir,
      }) => {
        const path = join(dir, "bytes");
        const all = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
        await host.writeFile(path, all);
        expect((await host.readFile(path)).equals(all)).toBe(true);
        const big = randomBytes(10 * 1024 * 1024 + 123);
        await host.writeFile(path, big);
        expect(sha256(await readFile(path))).toBe(sha256(big));
        expect(sha256(await host.readFile(path))).toBe(sha256(big));
        await host.writeFile(path, "short é");
        expect(await host.readFile(path, { encoding: "utf8" })).toBe("short é");
      });

      test("mode is applied exactly, also to an existing file, whatever the umask", async ({
        host,
        dir,
      }) => {
        const path = join(dir, "secret");
        await host.writeFile(path, "key", { mode: 0o600 });
        expect(statSync(path).mode & 0o7777).toBe(0o600);
        await host.writeFile(path, "other", { mode: 0o640 });
        expect(statSync(path).mode & 0o7777).toBe(0o640);
        await host.writeFile(path, "kept");
        expect(statSync(path).mode & 0o7777).toBe(0o640);
        await host.writeFile(join(dir, "wide"), "", { mode: 0o777 });
        expect(statSync(join(dir, "wide")).mode & 0o7777).toBe(0o777);
      });

      test("files in /proc (size 0) are read whole", async ({ host, track }) => {
        const sleeper = track.process(host.spawn("sleep", ["1000"]));
        const pid = await sleeper.pid;
        expect(await host.readFile(`/proc/${pid}/cmdline`, { encoding: "utf8" })).toBe(
          "sleep\u00001000\u0000",
        );
        const status = await host.readFile(`/proc/${pid}/status`, { encoding: "utf8" });
        expect(status).toMatch(/^Name:\tsleep\n/);
        expect(status).toContain(`\nPid:\t${pid}\n`);
      });

      test("failures are ERR_HOST_SYSTEM with the errno name", async ({ host, dir }) => {
        await expect(host.readFile(join(dir, "missing"))).rejects.toMatchObject({
          code: "ERR_HOST_SYSTEM",
          systemCode: "ENOENT",
          path: join(dir, "missing"),
        });
        await expect(host.readFile(dir)).rejects.toMatchObject({ systemCode: "EISDIR" });
        await expect(host.writeFile(join(dir, "no", "file"), "x")).rejects.toMatchObject({
          systemCode: "ENOENT",
        });
        await expect(host.writeFile(dir, "x")).rejects.toMatchObject({ systemCode: "EISDIR" });
      });

      test("remove: files, symlinks (not their target), empty and (recursive) full directories; missing is fine", async ({
        host,
        dir,
      }) => {
        const file = join(dir, "file");
        await writeFile(file, "x");
        await symlink(file, join(dir, "link"));
        await host.remove(join(dir, "link"));
        expect(existsSync(join(dir, "link"))).toBe(false);
        expect(existsSync(file)).toBe(true);
        await host.remove(file);
        expect(existsSync(file)).toBe(false);
        await host.remove(file);
        await mkdir(join(dir, "empty"));
        await host.remove(join(dir, "empty"));
        expect(existsSync(join(dir, "empty"))).toBe(false);
        await mkdir(join(dir, "full", "deep"), { recursive: true });
        await writeFile(join(dir, "full", "deep", "f"), "x");
        await expect(host.remove(join(dir, "full"))).rejects.toMatchObject({
          code: "ERR_HOST_SYSTEM",
          systemCode: "ENOTEMPTY",
        });
        await host.remove(join(dir, "full"), { recursive: true });
        expect(existsSync(join(dir, "full"))).toBe(false);
        expect(() => host.remove("/")).toThrow(
          expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "path" }),
        );
      });

      test("makePrivateDir makes a new 0700 directory; exists tells files apart from nothing", async ({
        host,
        dir,
        printer,
      }) => {
        const first = await host.makePrivateDir({ parent: dir, prefix: "p-" });
        const second = await host.makePrivateDir({ parent: dir, prefix: "p-" });
        expect(first).not.toBe(second);
        expect(first.startsWith(join(dir, "p-"))).toBe(true);
        expect(statSync(first).isDirectory()).toBe(true);
        expect(statSync(first).mode & 0o7777).toBe(0o700);
        expect(await host.exists(first)).toBe(true);
        expect(await host.exists(join(first, "nothing"))).toBe(false);
        expect(await host.exists(join(printer, "under-a-file"))).toBe(false);
        const tmp = await host.makePrivateDir();
        try {
          expect(statSync(tmp).mode & 0o7777).toBe(0o700);
        } finally {
          await host.remove(tmp, { recursive: true });
        }
      });
    });

    describe("sockets", () => {
      test("connectUnix reaches a unix socket server on the host (1 MiB echo)", async ({
        host,
        dir,
        track,
      }) => {
        const path = join(dir, "echo.sock");
        track.server(await echoServer((server) => server.listen(path)));
        const stream = await host.connectUnix(path);
        const data = randomBytes(1024 * 1024);
        expect(sha256(await roundTrip(stream, data))).toBe(sha256(data));
      });

      test("connectTcp reaches a TCP server on the host (1 MiB echo)", async ({ host, track }) => {
        const server = await echoServer((created) => created.listen(0, "127.0.0.1"));
        track.server(server);
        const port = (server.address() as { port: number }).port;
        const stream = await host.connectTcp("127.0.0.1", port);
        const data = randomBytes(1024 * 1024);
        expect(sha256(await roundTrip(stream, data))).toBe(sha256(data));
      });

      test("nothing listening rejects with ERR_HOST_SOCKET", async ({ host, dir }) => {
        await expect(host.connectUnix(join(dir, "none.sock"))).rejects.toMatchObject({
          code: "ERR_HOST_SOCKET",
          target: join(dir, "none.sock"),
        });
        const server = await echoServer((created) => created.listen(0, "127.0.0.1"));
        const port = (server.address() as { port: number }).port;
        await new Promise((resolve) => server.close(resolve));
        await expect(host.connectTcp("127.0.0.1", port)).rejects.toMatchObject({
          code: "ERR_HOST_SOCKET",
          systemCode: "ECONNREFUSED",
        });
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
        expect(info!.state).toMatch(/^[RSD]$/);
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
  });
}
