/** Launching QEMU daemonized: its parent exits once QEMU is set up, or with QEMU's reason. */
import type { Command } from "@qemu-kvm/bootline";
import type { CallOptions } from "@qemu-kvm/core";
import type { Host } from "@qemu-kvm/host";
import { VmLaunchError } from "../errors.js";

/** QEMU running in the background, named by pid and start time. */
export interface LaunchedQemu {
  readonly pid: number;
  readonly startTime: bigint;
  /** The whole command line, program first. */
  readonly argv: readonly string[];
  /** What QEMU wrote to stderr while starting (warnings), trimmed. */
  readonly warnings: string;
}

/** QEMU's words for a listener it could not bind: someone outside the pool holds the port. */
const PORT_BUSY =
  /Address already in use|Could not set up host forwarding rule|Failed to find an available port/i;

/** The most of QEMU's stderr kept (it is short; a flood is cut). */
const MAX_STDERR_BYTES = 256 * 1024;

/**
 * Runs QEMU with `-daemonize`: the command returns when QEMU has created every
 * device, listener and socket (exit 0), or has given up (its stderr says why).
 * No polling: the exit of QEMU's parent is the event. On exit 0, the pidfile
 * names the daemon.
 */
export async function launchQemu(
  host: Host,
  vm: string,
  command: Command,
  pidfile: string,
  options: CallOptions,
): Promise<LaunchedQemu> {
  const argv = [command.file, ...command.args];
  const result = await host.exec(command.file, command.args, {
    ...options,
    reject: false,
    maxBuffer: MAX_STDERR_BYTES,
  });
  const stderr = result.stderr.trim();
  if (result.exitCode !== 0) {
    const busy = PORT_BUSY.test(stderr);
    throw new VmLaunchError({
      vm,
      phase: "qemu",
      argv,
      stderr,
      exitCode: result.exitCode,
      portBusy: busy,
      message: busy
        ? "a port it was to listen on is taken by a process outside the pool"
        : result.signal
          ? `QEMU was killed by ${result.signal}`
          : `QEMU exited with ${result.exitCode}`,
    });
  }
  const pid = await readPidfile(host, vm, pidfile, argv, options);
  const info = await host.processInfo(pid, options);
  if (!info || info.state === "zombie")
    throw new VmLaunchError({
      vm,
      phase: "pidfile",
      argv,
      stderr,
      message: `QEMU (pid ${pid}) exited right after starting`,
    });
  return { pid, startTime: info.startTime, argv, warnings: stderr };
}

async function readPidfile(
  host: Host,
  vm: string,
  pidfile: string,
  argv: readonly string[],
  options: CallOptions,
): Promise<number> {
  const text = await host
    .readFile(pidfile, { ...options, encoding: "utf8" })
    .catch((cause: unknown) => {
      throw new VmLaunchError({
        vm,
        phase: "pidfile",
        argv,
        message: `no pidfile ${pidfile}`,
        cause,
      });
    });
  const pid = Number(text.trim());
  if (!Number.isSafeInteger(pid) || pid < 2)
    throw new VmLaunchError({
      vm,
      phase: "pidfile",
      argv,
      message: `pidfile ${pidfile} holds ${JSON.stringify(text.slice(0, 40))}`,
    });
  return pid;
}

/**
 * After a failed launch, a QEMU that got as far as writing its pidfile may
 * still run (its parent was killed by a deadline while it set up): kill it,
 * if the pid is still that QEMU (its command line names the runtime directory).
 */
export async function killLeftover(host: Host, pidfile: string, runtimeDir: string): Promise<void> {
  const text = await host
    .readFile(pidfile, { encoding: "utf8", timeoutMs: 10_000 })
    .catch(() => undefined);
  const pid = Number(text?.trim());
  if (!Number.isSafeInteger(pid) || pid < 2) return;
  const info = await host.processInfo(pid, { timeoutMs: 10_000 }).catch(() => undefined);
  if (!info?.cmdline.some((arg) => arg.includes(runtimeDir))) return;
  await host
    .kill(pid, "SIGKILL", { startTime: info.startTime, timeoutMs: 10_000 })
    .catch(() => false);
}
