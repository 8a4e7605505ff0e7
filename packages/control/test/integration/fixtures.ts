import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { ensureGuest, QEMU_BINARY, type TestGuest } from "@qemu-kvm/test-guest";
import { freePort, makeTempDir, waitForPath } from "@qemu-kvm/testkit";

/** Generous: 2 cores shared with other engineers' QEMUs, TCG. */
export const BOOT_TIMEOUT_MS = 120_000;

let guest: Promise<TestGuest> | undefined;
/** The test guest (built once, cached by recipe). */
export function testGuest(): Promise<TestGuest> {
  guest ??= ensureGuest({ timeoutMs: 1_800_000 });
  return guest;
}

/** Records every byte read from `socket` (as latin1), to check what the guest really printed. */
export function recordRaw(socket: Socket): () => string {
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  return () => Buffer.concat(chunks).toString("latin1");
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

export interface TelnetGuest {
  readonly port: number;
  /** The `-uuid` QEMU was started with (DMI product UUID). */
  readonly uuid: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  /** A new telnet connection to the serial console (QEMU takes one client at a time). */
  connect(): Promise<Socket>;
  /** SIGKILL (if alive), wait for the exit, remove the runtime directory. */
  stop(): Promise<void>;
}

/**
 * Boots the test guest with its serial console on a telnet server on
 * 127.0.0.1 (`wait=off`: the guest boots with nobody connected, as in DTS),
 * QMP on a unix socket. Resolves once QEMU's setup is complete (QMP answers),
 * so the telnet port listens.
 */
export async function launchTelnetGuest(): Promise<TelnetGuest> {
  const files = await testGuest();
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await launchOnPort(files, port);
    } catch (error) {
      // Another process took the port between our probe and QEMU's bind: try another.
      if (
        attempt < 3 &&
        /Failed to (bind|find an available port)|Address already in use/.test(String(error))
      )
        continue;
      throw error;
    }
  }
}

async function launchOnPort(files: TestGuest, port: number): Promise<TelnetGuest> {
  const dir = await makeTempDir("qk-ctl-");
  const qmpPath = join(dir.path, "qmp.sock");
  const uuid = randomUUID();
  const argv = [
    ...files.qemuArgs({
      serial: { kind: "telnet", port, host: "127.0.0.1", wait: false },
      qmpSocket: qmpPath,
    }),
    "-uuid",
    uuid,
  ];
  const child = spawn(QEMU_BINARY, argv, { stdio: ["ignore", "ignore", "pipe"] });
  live.add(child);
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = (async () => {
    if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
    live.delete(child);
    return { code: child.exitCode, signal: child.signalCode };
  })();
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
    await dir.remove();
  };
  try {
    const early = exited.then(({ code }) => {
      throw new Error(`QEMU exited with code ${code} during setup: ${stderr}`);
    });
    early.catch(() => {});
    await Promise.race([waitForPath(qmpPath, { timeoutMs: BOOT_TIMEOUT_MS }), early]);
    // The chardevs are created in command-line order, the serial one first: once QMP
    // answers, the telnet server listens.
    await Promise.race([qmpAnswers(qmpPath), early]);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    port,
    uuid,
    exited,
    stderr: () => stderr,
    async connect() {
      const socket = createConnection({ host: "127.0.0.1", port });
      await once(socket, "connect");
      return socket;
    },
    stop,
  };
}

/** Connects to QMP, negotiates, waits for the reply: QEMU's main loop runs, setup is done. */
async function qmpAnswers(path: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await new Promise<void>((resolve, reject) => {
        const socket = createConnection(path);
        let seen = "";
        socket.setEncoding("utf8");
        socket.on("data", (chunk: string) => {
          seen += chunk;
          if (seen.includes("QMP") && !seen.includes("qmp_capabilities sent")) {
            seen += "qmp_capabilities sent";
            socket.write('{"execute":"qmp_capabilities"}\n');
          }
          if (/"return"/.test(seen)) {
            socket.destroy();
            resolve();
          }
        });
        socket.once("error", reject);
        socket.once("close", () => reject(new Error("QMP closed")));
      });
      return;
    } catch (error) {
      // The socket path exists from bind(); listen() follows a moment later.
      if ((error as NodeJS.ErrnoException).code !== "ECONNREFUSED" || attempt > 100) throw error;
      await delay(20);
    }
  }
}
