import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createConnection, type Socket } from "node:net";
import { ensureGuest, type LaunchedGuest, launchGuest, type TestGuest } from "@qemu-kvm/test-guest";
import { freePort, startQemu } from "@qemu-kvm/testkit";
import { test as base } from "@qemu-kvm/testkit/fixtures";

/** Generous: 2 cores shared with other engineers' QEMUs, TCG. */
export const BOOT_TIMEOUT_MS = 120_000;
/** For a test that may boot its file's guest first: boot, login prompt, login, then its own work. */
export const FIRST_TEST_TIMEOUT_MS = 480_000;

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

/** A guest launched by `launchGuest` (console on a unix socket held with wait=on). */
export interface UnixGuest {
  readonly vm: LaunchedGuest;
  /** The `-uuid` QEMU was started with (DMI product UUID). */
  readonly uuid: string;
  readonly password: string;
}

export interface TelnetGuest {
  readonly port: number;
  /** The `-uuid` QEMU was started with (DMI product UUID). */
  readonly uuid: string;
  readonly password: string;
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
async function launchTelnetGuest(): Promise<TelnetGuest> {
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
  const uuid = randomUUID();
  // The guest's own command line; startQemu adds its QMP socket and resolves once QMP
  // answers: QEMU's setup is complete, so the telnet server listens.
  const qemu = await startQemu({
    defaults: false,
    args: [
      ...files.qemuArgs({ serial: { type: "telnet", port, host: "127.0.0.1", wait: false } }),
      "-uuid",
      uuid,
    ],
    timeoutMs: BOOT_TIMEOUT_MS,
  });
  return {
    port,
    uuid,
    password: files.credentials.password,
    exited: qemu.exited,
    stderr: qemu.stderr,
    async connect() {
      const socket = createConnection({ host: "127.0.0.1", port });
      await once(socket, "connect");
      return socket;
    },
    stop: qemu.stop,
  };
}

/**
 * `test` with one guest per file, booted on first use and stopped after the
 * file, pass or fail:
 * - `unixGuest`: the console on a unix socket held with wait=on (the console
 *   sees the boot from its first byte), started with a fresh `-uuid`;
 * - `telnetGuest`: the console on a telnet server with wait=off;
 * - `agentGuest`: with the guest agent's socket (`vm.guestAgentPath`);
 * - `sshGuest`: with the agent and SSH (dropbear) forwarded to a loopback port.
 */
export const test = base
  .extend("unixGuest", { scope: "file" }, async ({}, { onCleanup }): Promise<UnixGuest> => {
    const files = await testGuest();
    const uuid = randomUUID();
    const vm = await launchGuest(files, {
      extraArgs: ["-uuid", uuid],
      timeoutMs: BOOT_TIMEOUT_MS,
    });
    onCleanup(async () => {
      await vm.stop();
    });
    return { vm, uuid, password: files.credentials.password };
  })
  .extend("telnetGuest", { scope: "file" }, async ({}, { onCleanup }): Promise<TelnetGuest> => {
    const vm = await launchTelnetGuest();
    onCleanup(async () => {
      await vm.stop();
    });
    return vm;
  })
  .extend("agentGuest", { scope: "file" }, async ({}, { onCleanup }): Promise<LaunchedGuest> => {
    const files = await testGuest();
    const vm = await launchGuest(files, { guestAgent: true, timeoutMs: BOOT_TIMEOUT_MS });
    onCleanup(async () => {
      await vm.stop();
    });
    return vm;
  })
  .extend("sshGuest", { scope: "file" }, async ({}, { onCleanup }): Promise<SshGuest> => {
    const guest = await launchSshGuest();
    onCleanup(async () => {
      await guest.vm.stop();
    });
    return guest;
  });

/** A guest launched by `launchGuest` with the agent and dropbear's port 22 forwarded to `sshPort` on 127.0.0.1. */
export interface SshGuest {
  readonly vm: LaunchedGuest;
  readonly sshPort: number;
  readonly password: string;
}

async function launchSshGuest(): Promise<SshGuest> {
  const files = await testGuest();
  for (let attempt = 1; ; attempt++) {
    const sshPort = await freePort();
    try {
      const vm = await launchGuest(files, {
        guestAgent: true,
        hostForwards: [{ hostPort: sshPort, guestPort: 22 }],
        timeoutMs: BOOT_TIMEOUT_MS,
      });
      return { vm, sshPort, password: files.credentials.password };
    } catch (error) {
      // Another process took the port between our probe and QEMU's bind: try another.
      if (attempt < 3 && /host forwarding rule/.test(String(error))) continue;
      throw error;
    }
  }
}

/** A connection to the guest agent's socket of `vm`. */
export async function connectAgentSocket(vm: LaunchedGuest): Promise<Socket> {
  const socket = createConnection(vm.guestAgentPath!);
  await once(socket, "connect");
  return socket;
}
