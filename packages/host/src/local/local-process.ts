import { once } from "node:events";
import type { Readable, Writable } from "node:stream";
import type { Deadline } from "@qemu-kvm/core";
import { execa, type ResultPromise } from "execa";
import { describeArgv } from "../errors/describe.js";
import type { ProcessExit, Signal, SpawnOptions } from "../host.js";
import { signalName } from "../shared/arguments.js";
import { DEFAULT_FORCE_KILL_AFTER_MS } from "../shared/command-host.js";
import { debug } from "../shared/observe.js";
import { ProcessBase } from "../shared/process-base.js";
import type { CommandSpec } from "../shared/transport.js";
import { LOCAL, spawnError } from "./local-errors.js";
import { environment } from "./local-exec.js";
import { processTree, signalProcesses } from "./process-tree.js";

/** A process started by `createLocalHost().spawn()`. */
export class LocalProcess extends ProcessBase {
  readonly argv: readonly string[];
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly pid: Promise<number>;
  readonly exited: Promise<ProcessExit>;
  protected readonly forceKillAfterMs: number;
  readonly #child: ResultPromise;

  constructor(spec: CommandSpec, options: SpawnOptions, deadline: Deadline) {
    super();
    const [file, ...args] = spec.argv as [string, ...string[]];
    const started = performance.now();
    this.argv = spec.argv;
    this.forceKillAfterMs = options.forceKillAfterMs ?? DEFAULT_FORCE_KILL_AFTER_MS;
    debug("local: spawn %s", describeArgv(spec.argv));
    const child = execa(file, args, {
      cwd: spec.cwd,
      env: environment(spec.env),
      extendEnv: false,
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      buffer: false,
      encoding: "buffer",
      stripFinalNewline: false,
      reject: false,
      cleanup: true,
    });
    this.#child = child;
    child.catch(() => {});
    this.stdin = child.stdin;
    this.stdout = child.stdout;
    this.stderr = child.stderr;
    // Writing to a process that exited fails with EPIPE; `exited` tells the story.
    this.stdin.on("error", (error) => debug("local: stdin of %s: %s", file, error.message));
    const failed = new Promise<never>((_, reject) => {
      child.once("error", (error) => {
        void spawnError(spec.argv, spec.cwd, error).then(reject);
      });
    });
    this.pid = Promise.race([once(child, "spawn").then(() => child.pid!), failed]);
    this.exited = Promise.race([
      once(child, "exit").then(([exitCode, signal]) => {
        if (this.failure) throw this.failure;
        return { exitCode, signal, durationMs: performance.now() - started } as ProcessExit;
      }),
      failed,
    ]);
    this.pid.catch(() => {});
    this.exited.catch(() => {});
    this.watch(deadline, LOCAL);
  }

  async kill(signal: Signal = "SIGTERM"): Promise<boolean> {
    const name = signalName(signal);
    const child = this.#child;
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null)
      return false;
    return signalProcesses(await processTree(child.pid), name);
  }

  protected killNow(): void {
    void this.kill("SIGKILL");
  }
}
