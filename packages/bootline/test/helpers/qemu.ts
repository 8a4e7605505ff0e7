/**
 * Shared by the integration tests: a tiny line-JSON QMP client (the real one lives
 * in @qemu-kvm/monitor, which bootline must not depend on), free VNC displays, the
 * sockets a process listens on as the kernel reports them (/proc/net/{tcp,tcp6,udp,udp6}),
 * and a stand-in kernel.
 */
import { execFile } from "node:child_process";
import { readdir, readFile, readlink } from "node:fs/promises";
import { createConnection, createServer, type Socket } from "node:net";
import { promisify } from "node:util";

export const run = promisify(execFile);

/** One QMP connection: greeting, capabilities, then one command at a time. */
export class Qmp {
  private buffer = "";
  private readonly waiting: ((line: Record<string, unknown>) => void)[] = [];
  private readonly lines: Record<string, unknown>[] = [];
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.buffer += chunk;
      let newline = this.buffer.indexOf("\n");
      while (newline >= 0) {
        const text = this.buffer.slice(0, newline).trim();
        this.buffer = this.buffer.slice(newline + 1);
        if (text) {
          const message = JSON.parse(text) as Record<string, unknown>;
          if (!("event" in message)) {
            const next = this.waiting.shift();
            if (next) next(message);
            else this.lines.push(message);
          }
        }
        newline = this.buffer.indexOf("\n");
      }
    });
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
  }

  static async connect(path: string, timeoutMs = 30_000): Promise<Qmp> {
    const socket = createConnection(path);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const qmp = new Qmp(socket);
    const greeting = await qmp.next(timeoutMs);
    if (!("QMP" in greeting)) throw new Error(`not a QMP greeting: ${JSON.stringify(greeting)}`);
    await qmp.execute("qmp_capabilities");
    return qmp;
  }

  private next(timeoutMs: number): Promise<Record<string, unknown>> {
    const queued = this.lines.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no QMP reply in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  }

  async execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    timeoutMs = 30_000,
  ): Promise<T> {
    this.socket.write(
      `${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`,
    );
    const reply = await this.next(timeoutMs);
    if ("error" in reply) throw new Error(`QMP ${command}: ${JSON.stringify(reply.error)}`);
    return reply.return as T;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Whether a TCP port can be bound on 127.0.0.1 and on every interface. */
async function bindable(port: number): Promise<boolean> {
  for (const host of ["127.0.0.1", "0.0.0.0"]) {
    const server = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, host, () => resolve(true));
    });
    await new Promise<void>((resolve) => (ok ? server.close(() => resolve()) : resolve()));
    if (!ok) return false;
  }
  return true;
}

/** A VNC display whose port (5900 + display) is free, searched from a random start. */
export async function freeDisplay(): Promise<number> {
  const start = 200 + Math.floor(Math.random() * 3000);
  for (let display = start; display < start + 500; display++)
    if (await bindable(5900 + display)) return display;
  throw new Error("no free VNC display");
}

export interface Socketinfo {
  protocol: "tcp" | "udp";
  host: string;
  port: number;
}

function decodeAddress(hex: string): { host: string; port: number } {
  const [addressHex, portHex] = hex.split(":") as [string, string];
  const port = Number.parseInt(portHex, 16);
  if (addressHex.length === 8) {
    const bytes = addressHex
      .match(/../g)!
      .map((byte) => Number.parseInt(byte, 16))
      .reverse();
    return { host: bytes.join("."), port };
  }
  // IPv6: four 32-bit words, each in host (little-endian) byte order.
  const words = addressHex.match(/.{8}/g)!.map((word) => word.match(/../g)!.reverse().join(""));
  const groups = words
    .join("")
    .match(/.{4}/g)!
    .map((group) => Number.parseInt(group, 16).toString(16));
  const text = groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
  return { host: text === "::" ? "::" : text, port };
}

/**
 * The TCP sockets a process listens on and the UDP sockets it has bound, read from
 * /proc (what `ss -ltnup` shows), by matching the socket inodes of its fds.
 */
export async function listeningSockets(pid: number): Promise<Socketinfo[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match) inodes.add(match[1]!);
  }
  const found: Socketinfo[] = [];
  for (const [file, protocol, state] of [
    ["tcp", "tcp", "0A"],
    ["tcp6", "tcp", "0A"],
    ["udp", "udp", "07"],
    ["udp6", "udp", "07"],
  ] as const) {
    const text = await readFile(`/proc/net/${file}`, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== state || !inodes.has(fields[9]!)) continue;
      found.push({ protocol, ...decodeAddress(fields[1]!) });
    }
  }
  return found;
}

/** Connects, reads the first `bytes` bytes the peer sends, closes; rejects after `timeoutMs`. */
export async function firstBytes(
  target: { path: string } | { host: string; port: number },
  bytes: number,
  timeoutMs = 30_000,
): Promise<Buffer> {
  const socket =
    "path" in target ? createConnection(target.path) : createConnection(target.port, target.host);
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      let received = Buffer.alloc(0);
      const timer = setTimeout(
        () =>
          reject(new Error(`${bytes} bytes not received in ${timeoutMs} ms: ${received.length}`)),
        timeoutMs,
      );
      socket.on("data", (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.length >= bytes) {
          clearTimeout(timer);
          resolve(received);
        }
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } finally {
    socket.destroy();
  }
}

/** Resolves once a unix socket accepts a connection (then closes it); rejects when it refuses. */
export async function accepts(path: string, timeoutMs = 30_000): Promise<void> {
  const socket = createConnection(path);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${path}: no connection in ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } finally {
    socket.destroy();
  }
}

/** Sends one HMP command on a legacy readline monitor socket and returns the text up to the next prompt. */
export async function hmp(path: string, command: string, timeoutMs = 15_000): Promise<string> {
  const socket = createConnection(path);
  socket.setEncoding("utf8");
  try {
    return await new Promise<string>((resolve, reject) => {
      let text = "";
      let sent = false;
      const timer = setTimeout(
        () => reject(new Error(`no HMP reply: ${JSON.stringify(text)}`)),
        timeoutMs,
      );
      socket.on("data", (chunk: string) => {
        text += chunk;
        if (!sent && text.includes("(qemu) ")) {
          sent = true;
          text = "";
          socket.write(`${command}\n`);
        } else if (sent && text.includes("(qemu) ")) {
          clearTimeout(timer);
          resolve(text);
        }
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } finally {
    socket.destroy();
  }
}

/** A stand-in x86 Linux kernel: a bzImage header QEMU loads (it never runs: the VM stays paused). */
export function standInKernel(): Buffer {
  const image = Buffer.alloc(16 * 1024);
  image[0x1f1] = 4; // setup sectors
  image.writeUInt16LE(0xaa55, 0x1fe);
  image.write("HdrS", 0x202, "latin1");
  image.writeUInt16LE(0x020c, 0x206); // boot protocol 2.12
  image[0x211] = 0x01; // loaded high
  image.writeUInt32LE(0x37ffffff, 0x22c); // initrd_addr_max
  image.writeUInt32LE(2048, 0x238); // cmdline_size
  return image;
}
