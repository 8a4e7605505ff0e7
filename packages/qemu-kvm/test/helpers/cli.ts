/**
 * The `qemu-kvm` command as a process, run from source the way `pnpm demo`
 * runs it (tsx, the `@qemu-kvm/source` condition), with the test's private
 * runtime base and pool directory in its environment.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import type { Host } from "@qemu-kvm/host";
import { listVms } from "../../src/index.js";
import { test, type VmEnv } from "./fixtures.js";

const PACKAGE_DIR = fileURLToPath(new URL("../..", import.meta.url));
const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

export interface CliResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Added to the environment (the test's runtime base and pool are there already). */
  readonly env?: Record<string, string>;
  /** Written to stdin, which is then closed. */
  readonly input?: string;
  /** The process is killed after this long (a hung command fails its test, it does not hang it). */
  readonly timeoutMs?: number;
}

/** A running `qemu-kvm` process, its output so far, and its end. */
export interface CliProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout holds `text` (rejects if the process ends first). */
  waitForOutput(text: string): Promise<void>;
  readonly done: Promise<CliResult>;
}

function environment(env: VmEnv, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(base)) if (name.startsWith("QEMU_KVM_")) delete base[name];
  return {
    ...base,
    QEMU_KVM_RUNTIME_BASE: env.runtimeBase,
    QEMU_KVM_POOL_DIR: env.poolOptions.stateDir,
    ...extra,
  };
}

export function spawnCli(
  env: VmEnv,
  args: readonly string[],
  options: CliOptions = {},
): CliProcess {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--conditions=@qemu-kvm/source", MAIN, ...args],
    { cwd: PACKAGE_DIR, env: environment(env, options.env), stdio: ["pipe", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (const waiter of [...waiters])
      if (stdout.includes(waiter.text)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 300_000);
  const done = once(child, "close").then(([exitCode, signal]) => {
    clearTimeout(timer);
    return {
      exitCode: exitCode as number | null,
      signal: signal as NodeJS.Signals | null,
      stdout,
      stderr,
    };
  });
  if (options.input !== undefined) child.stdin!.end(options.input);
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForOutput: (text) =>
      stdout.includes(text)
        ? Promise.resolve()
        : Promise.race([
            new Promise<void>((resolve) => waiters.push({ text, resolve })),
            done.then((result) => {
              throw new Error(
                `qemu-kvm exited (${result.exitCode}) before printing ${JSON.stringify(text)}:\n${result.stdout}\n${result.stderr}`,
              );
            }),
          ]),
    done,
  };
}

/** Runs `qemu-kvm ARGS` to its end. */
export function runCli(
  env: VmEnv,
  args: readonly string[],
  options: CliOptions = {},
): Promise<CliResult> {
  return spawnCli(env, args, options).done;
}

/** After a test, pass or fail: every VM left under the test's runtime base is killed (pid and start time checked). */
export async function killLeftVms(host: Host, env: VmEnv): Promise<void> {
  const listings = await listVms(host, { runtimeBase: env.runtimeBase, foreign: false });
  for (const { record } of listings)
    if (record) await host.kill(record.pid, "SIGKILL", { startTime: BigInt(record.startTime) });
}

/** The command, bound to the test's runtime base and pool. */
export interface Cli {
  run(args: readonly string[], options?: CliOptions): Promise<CliResult>;
  spawn(args: readonly string[], options?: CliOptions): CliProcess;
}

/** `test` with `cli`: every VM the test's commands left running is killed after it, pass or fail. */
export const cliTest = test.extend("cli", async ({ host, env }, { onCleanup }): Promise<Cli> => {
  onCleanup(() => killLeftVms(host, env));
  return {
    run: (args, options) => runCli(env, args, options),
    spawn: (args, options) => spawnCli(env, args, options),
  };
});
