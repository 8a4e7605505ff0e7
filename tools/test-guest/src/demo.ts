/**
 * `pnpm --filter @qemu-kvm/test-guest run demo` (the repository's `pnpm demo`
 * is the qemu-kvm command's): builds (or reuses) the test guest, boots it under QEMU with TCG,
 * shows its serial console until `login:` with the time it took, and stops QEMU
 * cleanly. Exit status 0 on success, 1 with a message on failure, 130 on Ctrl-C;
 * QEMU is never left running.
 */
import { ensureGuest } from "./ensure-guest.js";
import { type LaunchedGuest, launchGuest } from "./launch-guest.js";

const LOGIN_TIMEOUT_MS = 60_000;

const controller = new AbortController();
const interrupted = () => controller.abort(new Error("interrupted"));
process.once("SIGINT", interrupted);
process.once("SIGTERM", interrupted);

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function main(): Promise<void> {
  const { signal } = controller;
  const guest = await ensureGuest({
    signal,
    onProgress: ({ message, elapsedMs }) =>
      log(`guest: ${message} (${(elapsedMs / 1000).toFixed(1)} s)`),
  });
  log(`booting Linux ${guest.kernelVersion} under QEMU (-accel tcg, q35, virtio-net)…`);
  let vm: LaunchedGuest | undefined;
  try {
    vm = await launchGuest(guest, { signal });
    log(`QEMU pid ${vm.pid}; serial console:\n${"-".repeat(60)}`);
    vm.serial.on("data", (chunk: Buffer) => process.stdout.write(chunk));
    const { sinceSpawnMs } = await vm.waitForOutput(guest.credentials.loginPrompt, {
      signal,
      timeoutMs: LOGIN_TIMEOUT_MS,
    });
    log(`\n${"-".repeat(60)}`);
    log(`login prompt after ${(sinceSpawnMs / 1000).toFixed(2)} s (from QEMU spawn)`);
  } finally {
    if (vm) {
      const stage = await vm.stop();
      const { code, signal: exitSignal } = await vm.exited;
      log(
        `QEMU stopped (${stage === "quit" ? "QMP quit" : stage}; exit code ${code ?? exitSignal})`,
      );
    }
  }
  log(
    `log in as ${guest.credentials.user} / ${guest.credentials.password}; files in ${guest.directory}`,
  );
}

try {
  await main();
} catch (error) {
  if (controller.signal.aborted) {
    log("demo: interrupted; QEMU stopped");
    process.exitCode = 130;
  } else {
    const { code, message } = error as { code?: string; message?: string };
    log(`demo failed: ${code ?? "error"}: ${message ?? String(error)}`);
    process.exitCode = 1;
  }
}
