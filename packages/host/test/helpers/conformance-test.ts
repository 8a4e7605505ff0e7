/**
 * What the conformance suite's files share: the transports it runs against, as
 * testkit's `test` with a file-scoped host, and the helpers its tests use.
 */
import { createHash } from "node:crypto";
import { createConnection, createServer, type Server } from "node:net";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { test as base } from "@qemu-kvm/testkit/fixtures";
import {
  connectSshHost,
  createLocalHost,
  type DefaultTimeouts,
  type ExecOptions,
  type Host,
  type HostProcess,
} from "../../src/index.js";
import { killRecorded } from "./pids.js";
import { writeArgvPrinter } from "./scripts.js";
import { sshOptions, streamOptions } from "./ssh.js";

export const NODE = process.execPath;

/** What a test may set on the host it opens, on every transport. */
export interface HostSettings {
  defaultTimeouts?: DefaultTimeouts;
}

/** Opens a new connected host (with `settings`); every host it opened is closed after the file. */
export type OpenHost = (settings?: HostSettings) => Promise<Host>;

function opener(
  open: (settings: HostSettings) => Promise<Host>,
  onCleanup: (fn: () => Promise<void>) => void,
): OpenHost {
  const opened: Host[] = [];
  onCleanup(async () => {
    await Promise.allSettled(opened.map((host) => host.close()));
  });
  return async (settings = {}) => {
    const host = await open(settings);
    opened.push(host);
    return host;
  };
}

/** The transports, as testkit's `test` with a file-scoped `openHost`. */
const transports = {
  createLocalHost: base.extend("openHost", { scope: "file" }, async ({}, { onCleanup }) =>
    opener(async (settings) => createLocalHost(settings), onCleanup),
  ),
  connectSshHost: base.extend("openHost", { scope: "file" }, async ({ sshd }, { onCleanup }) =>
    opener((settings) => connectSshHost(sshOptions(sshd, settings)), onCleanup),
  ),
  // SSH over a stream the caller connected (here a TCP connection of its own to the sshd).
  "connectSshHost over a stream": base.extend(
    "openHost",
    { scope: "file" },
    async ({ sshd }, { onCleanup }) =>
      opener(
        (settings) =>
          connectSshHost(streamOptions(sshd, createConnection(sshd.port, sshd.host), settings)),
        onCleanup,
      ),
  ),
};

export type TransportName = keyof typeof transports;

/** What a test started, stopped after it even when it fails. */
export interface Tracker {
  process(process: HostProcess): HostProcess;
  server(server: Server): Server;
}

/** The conformance suite's `test` for one transport: `host` (per file), `dir`, `printer`, `track`. */
export function conformanceTest(name: TransportName) {
  return (
    transports[name]
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
      })
  );
}

export type ConformanceTest = ReturnType<typeof conformanceTest>;

/** Reads a stream to the end as one Buffer. */
export async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Reads from `stream` until the text seen so far includes `expected`. */
export function readUntil(stream: NodeJS.ReadableStream, expected: string): Promise<string> {
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

export function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** An echo server on a unix socket or TCP port, closed by `close()`. */
export async function echoServer(listen: (server: Server) => void): Promise<Server> {
  const server = createServer((socket) => socket.pipe(socket));
  listen(server);
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  return server;
}

export async function roundTrip(stream: Duplex, data: Buffer): Promise<Buffer> {
  const received = collect(stream);
  stream.end(data);
  return received;
}

/** The argv, cwd and environment a command received, as a node script in `dir` prints them. */
export async function printedArgv(
  host: Host,
  dir: string,
  args: string[],
  options: ExecOptions & { encoding?: "utf8" } = {},
) {
  const printer = await writeArgvPrinter(dir);
  const { stdout } = await host.exec(NODE, [printer, ...args], options);
  return JSON.parse(stdout) as { argv: string[]; cwd: string; env: Record<string, string> };
}
