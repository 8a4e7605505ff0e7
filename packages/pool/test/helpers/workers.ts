/**
 * Pool clients in processes of their own (./worker.ts), for the concurrency,
 * crash, heartbeat and default-directory tests. As this user they run the
 * sources with tsx; as another user, who may not be able to read the
 * checkout (a clone in a directory only root can enter), they run one
 * self-contained bundle of the worker, carried to a private directory only
 * that user can read.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { chmod, chown, mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { WorkerConfig } from "./worker.js";

const PACKAGE_DIR = fileURLToPath(new URL("../..", import.meta.url));
const WORKER = fileURLToPath(new URL("./worker.ts", import.meta.url));

type Message = Record<string, unknown>;

/** A user to run workers as. */
export interface RunAs {
  uid: number;
  gid: number;
}

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** A worker process: its messages (one JSON object per stdout line) and its exit. */
export class Worker {
  readonly pid: number;
  readonly exited: Promise<WorkerExit>;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #messages: Message[] = [];
  readonly #waiters: {
    predicate: (message: Message) => boolean;
    resolve: (message: Message) => void;
    reject: (error: Error) => void;
  }[] = [];
  #stderr = "";

  constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    this.pid = child.pid!;
    child.stdin.on("error", () => {});
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-20_000);
    });
    let pending = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      pending += chunk;
      for (let newline = pending.indexOf("\n"); newline >= 0; newline = pending.indexOf("\n")) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.startsWith("{")) this.#receive(JSON.parse(line) as Message);
      }
    });
    this.exited = once(child, "exit").then(([code, signal]) => {
      for (const waiter of this.#waiters.splice(0))
        waiter.reject(
          new Error(
            `worker exited (${code ?? signal}) before the awaited message:\n${this.#stderr}`,
          ),
        );
      return {
        code: code as number | null,
        signal: signal as NodeJS.Signals | null,
        stderr: this.#stderr,
      };
    });
  }

  #receive(message: Message): void {
    this.#messages.push(message);
    for (const waiter of [...this.#waiters]) {
      if (!waiter.predicate(message)) continue;
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    }
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Resolves the first message matching `predicate` (also one already received). */
  waitFor(predicate: (message: Message) => boolean): Promise<Message> {
    const found = this.#messages.find(predicate);
    if (found) return Promise.resolve(found);
    if (!this.running) return Promise.reject(new Error(`worker already exited:\n${this.#stderr}`));
    return new Promise((resolve, reject) => this.#waiters.push({ predicate, resolve, reject }));
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.#child.kill(signal);
  }

  /** Writes a command line to the worker's stdin. */
  send(line: string): void {
    this.#child.stdin.write(`${line}\n`);
  }
}

/** The part of esbuild's API used here. */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<unknown>;
}

/** esbuild, as tsup (a dev dependency of this package) depends on it. */
function loadEsbuild(): Esbuild {
  const tsup = createRequire(import.meta.url).resolve("tsup");
  return createRequire(tsup)("esbuild") as Esbuild;
}

/** Bundles the worker and everything it imports (sources, host, ssh2, execa) into `file`. */
async function bundleWorker(file: string): Promise<void> {
  await loadEsbuild().build({
    entryPoints: [WORKER],
    outfile: file,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["@qemu-kvm/source"],
    // ssh2 may try optional native modules; without them it runs as plain JavaScript.
    external: ["cpu-features", "*.node"],
    // CommonJS dependencies (ssh2) call require() for Node's modules and read __dirname.
    banner: {
      js: [
        'import { createRequire as __createRequire } from "node:module";',
        'import { dirname as __dirnameOf } from "node:path";',
        'import { fileURLToPath as __fileURLToPath } from "node:url";',
        "const require = __createRequire(import.meta.url);",
        "const __filename = __fileURLToPath(import.meta.url);",
        "const __dirname = __dirnameOf(__filename);",
      ].join(" "),
    },
    logLevel: "error",
  });
}

/** The workers of one test: `killAll()` (the fixture does it) kills what is left and removes bundles. */
export class Workers {
  readonly #live = new Set<Worker>();
  readonly #bundles = new Map<string, Promise<{ dir: string; file: string }>>();

  /** Starts a worker as this user (sources through tsx), or as `options.user` (a bundle it can read). */
  async start(
    config: WorkerConfig,
    options: { env?: NodeJS.ProcessEnv; user?: RunAs } = {},
  ): Promise<Worker> {
    const env = options.env ?? process.env;
    const json = JSON.stringify(config);
    let child: ChildProcessWithoutNullStreams;
    if (options.user) {
      const { dir, file } = await this.#bundleFor(options.user);
      child = spawn(process.execPath, [file, json], { cwd: dir, env, ...options.user });
    } else {
      child = spawn(
        process.execPath,
        ["--conditions=@qemu-kvm/source", "--import", "tsx", WORKER, json],
        { cwd: PACKAGE_DIR, env },
      );
    }
    const worker = new Worker(child);
    this.#live.add(worker);
    void worker.exited.then(() => this.#live.delete(worker));
    return worker;
  }

  /**
   * The worker bundled into one .mjs that needs nothing from the checkout,
   * in a temporary directory that belongs to `user`, mode 0500 (its file
   * 0400): readable by that user only.
   */
  #bundleFor(user: RunAs): Promise<{ dir: string; file: string }> {
    const key = `${user.uid}:${user.gid}`;
    let bundle = this.#bundles.get(key);
    if (!bundle) {
      bundle = (async () => {
        const dir = await mkdtemp(join(tmpdir(), "qk-pool-worker-"));
        const file = join(dir, "worker.mjs");
        try {
          await bundleWorker(file);
          await chmod(file, 0o400);
          await chown(file, user.uid, user.gid);
          await chmod(dir, 0o500);
          await chown(dir, user.uid, user.gid);
        } catch (error) {
          await rm(dir, { recursive: true, force: true });
          throw error;
        }
        return { dir, file };
      })();
      this.#bundles.set(key, bundle);
    }
    return bundle;
  }

  async killAll(): Promise<void> {
    const workers = [...this.#live];
    for (const worker of workers) {
      worker.kill("SIGCONT");
      worker.kill("SIGKILL");
    }
    await Promise.all(workers.map((worker) => worker.exited));
    const bundles = [...this.#bundles.values()];
    this.#bundles.clear();
    for (const bundle of bundles)
      await bundle.then(
        ({ dir }) => rm(dir, { recursive: true, force: true }),
        () => undefined,
      );
  }
}
