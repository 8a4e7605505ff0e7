import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { Duplex } from "node:stream";
import type { QemuBuild } from "./qemu-versions.js";

/** A QEMU process whose QMP monitor is its stdin/stdout. */
export interface QmpProcess extends AsyncDisposable {
  readonly child: ChildProcess;
  /** QMP: write to QEMU's stdin, read its stdout. Hand it to `connectQmp`. */
  readonly stream: Duplex;
  /** Everything QEMU wrote to stderr so far (its `-trace` lines go there). */
  stderr(): string;
  /** SIGKILL (if alive) and wait for the exit. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/**
 * Starts `build` with no machine (`-machine none -nodefaults -display none
 * -accel tcg`) and QMP on stdio, plus `args`. Nothing else is created, so it
 * starts in a few tens of ms; the caller stops it (`stop()` or `await using`),
 * and at process exit at the latest it is killed.
 */
export async function startQmpProcess(
  build: QemuBuild,
  args: readonly string[] = [],
): Promise<QmpProcess> {
  const argv = [
    ...build.args,
    ...["-machine", "none", "-nodefaults", "-display", "none", "-accel", "tcg"],
    ...["-qmp", "stdio"],
    ...args,
  ];
  const child = spawn(build.binary, argv, { stdio: ["pipe", "pipe", "pipe"] });
  live.add(child);
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = (async () => {
    if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
    live.delete(child);
  })();
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  };
  try {
    await once(child, "spawn");
  } catch (error) {
    live.delete(child);
    throw new Error(`cannot start ${build.binary} (QEMU ${build.version})`, { cause: error });
  }
  const stream = Duplex.from({ readable: child.stdout!, writable: child.stdin! });
  return { child, stream, stderr: () => stderr, stop, [Symbol.asyncDispose]: stop };
}
