/**
 * A machine-wide lock that dies with its holder: a listening unix socket in Linux's
 * abstract namespace (no file on disk). Binding it is atomic; the kernel unbinds it
 * when the holder exits however it exits, so a crashed builder can never leave a
 * stale lock behind. A waiter connects to the holder and waits for the connection
 * to close: an event, not a poll.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { type WaitOptions, withDeadline } from "./deadline.js";

export interface BuildLock extends AsyncDisposable {
  release(): Promise<void>;
}

export interface LockOptions extends WaitOptions {
  /** Called each time the lock is found held, with the holder's pid. */
  onWait?: (holderPid: number | undefined) => void;
}

function tryListen(address: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") resolve(undefined);
      else reject(error);
    });
    server.listen(address, () => resolve(server));
  });
}

/** Connects to the holder, reports its pid, resolves when the connection closes. */
function waitForRelease(
  address: string,
  signal: AbortSignal,
  onWait: LockOptions["onWait"],
): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(address);
    let received = "";
    let reported = false;
    const finish = (error?: Error) => {
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    const onAbort = () => finish(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      received += chunk;
      if (!reported && received.includes("\n")) {
        reported = true;
        onWait?.(Number.parseInt(received, 10) || undefined);
      }
    });
    let connected = false;
    socket.once("connect", () => {
      connected = true;
    });
    socket.once("close", () => {
      // A holder that died before telling its pid still held the lock: report it.
      if (connected && !reported) onWait?.(undefined);
      finish();
    });
    // ECONNREFUSED: the holder is closing right now; the caller simply tries again.
    socket.once("error", () => {});
  });
}

/** Takes the lock named `name` (at most ~100 bytes), waiting for its holder if needed. */
export async function acquireBuildLock(
  name: string,
  options: LockOptions = {},
): Promise<BuildLock> {
  const address = `\0${name}`;
  const server = await withDeadline(
    `waiting for the lock ${name}`,
    options,
    1_800_000,
    async (signal) => {
      for (;;) {
        signal.throwIfAborted();
        const held = await tryListen(address);
        if (held && signal.aborted) held.close(); // too late: nobody is waiting for it
        signal.throwIfAborted();
        if (held) return held;
        await waitForRelease(address, signal, options.onWait);
      }
    },
  );
  const clients = new Set<Socket>();
  server.on("connection", (socket) => {
    clients.add(socket);
    socket.once("close", () => clients.delete(socket));
    socket.on("error", () => {});
    socket.write(`${process.pid}\n`);
  });
  let released: Promise<void> | undefined;
  const release = () => {
    released ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of clients) socket.destroy();
    });
    return released;
  };
  return { release, [Symbol.asyncDispose]: release };
}
