import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { connectSshHost, createLocalHost, type Host } from "@qemu-kvm/host";
import { openPool, type ResourcePool } from "@qemu-kvm/pool";
import { type SshdFixture, startSshd } from "@qemu-kvm/testkit";
import type { Benchmark, Trial } from "../harness.js";

/**
 * Leases per second of `@qemu-kvm/pool`: one lease = `leasePort()` then
 * `release()`, two committed transactions, each under the host-wide lock, with
 * the state read, the host's sockets checked and the new state written and
 * renamed. Measured with 1 and with 4 competing processes (each its own pool
 * client), locally and over SSH (an OpenSSH server on loopback). The state
 * directory is on tmpfs (/dev/shm), as the default /run/qemu-kvm/pool is on a
 * real host; on a disk each commit adds an fsync.
 *
 * Baselines:
 * - the floor of the obvious design, one lock round trip per transaction through
 *   the same `Host`: `host.exec("flock", [lock, "true"])`, twice per lease, with
 *   no work under the lock at all;
 * - for 4 processes, the same pool with 1 process (the ratio is the scaling).
 */

const WORKER_ENV = "QK_POOL_BENCH_WORKER";

type HostSpec =
  | { transport: "local" }
  | {
      transport: "ssh";
      host: string;
      port: number;
      user: string;
      privateKeyPath: string;
      knownHostsPath: string;
    };

type Command =
  | { type: "open"; host: HostSpec; stateDir: string; base: number; id: number }
  | { type: "run"; mode: "pool" | "flock"; leases: number }
  | { type: "close" };

async function openHost(spec: HostSpec): Promise<Host> {
  if (spec.transport === "local") return createLocalHost();
  return connectSshHost({
    host: spec.host,
    port: spec.port,
    user: spec.user,
    privateKey: readFileSync(spec.privateKeyPath, "utf8"),
    hostKey: { knownHostsFile: spec.knownHostsPath },
  });
}

/** The worker side: one pool client per process, driven over IPC. */
function runWorker(): void {
  let host: Host | undefined;
  let pool: ResourcePool | undefined;
  let lockPath = "";
  let owner = "";
  const reply = (message: Record<string, unknown>) => process.send?.(message);
  process.on("message", (command: Command) => {
    void (async () => {
      try {
        if (command.type === "open") {
          host = await openHost(command.host);
          pool = await openPool(host, {
            stateDir: command.stateDir,
            ports: { forward: { from: command.base, to: command.base + 99 } },
          });
          lockPath = join(command.stateDir, "baseline.lock");
          owner = `bench${command.id}`;
          reply({ type: "ready" });
        } else if (command.type === "run") {
          for (let index = 0; index < command.leases; index++) {
            if (command.mode === "pool") {
              await pool!.leasePort(owner, "forward");
              await pool!.release(owner);
            } else {
              await host!.exec("flock", [lockPath, "true"]);
              await host!.exec("flock", [lockPath, "true"]);
            }
          }
          reply({ type: "done" });
        } else {
          await pool?.close();
          await host?.close();
          process.disconnect();
        }
      } catch (error) {
        reply({ type: "error", message: (error as Error).stack ?? String(error) });
      }
    })();
  });
}

if (process.env[WORKER_ENV] === "1") runWorker();

/** A worker process and a way to wait for its next reply. */
class Worker {
  readonly #child: ChildProcess;

  constructor() {
    const file = fileURLToPath(import.meta.url);
    this.#child = fork(file, [], {
      cwd: join(dirname(file), "..", ".."),
      execArgv: ["--conditions=@qemu-kvm/source", "--import", "tsx"],
      env: { ...process.env, [WORKER_ENV]: "1" },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
  }

  /** Sends `command` and resolves its reply; rejects if the worker exits first. */
  async request(command: Command): Promise<void> {
    const child = this.#child;
    const exited = (code: number | null, signal: NodeJS.Signals | null) =>
      new Error(
        `pool bench worker exited (${signal ?? `code ${code}`}) before answering ${command.type}`,
      );
    if (child.exitCode !== null || child.signalCode !== null)
      throw exited(child.exitCode, child.signalCode);
    const answer = new Promise<{ type: string; message?: string }>((resolve, reject) => {
      const onMessage = (message: { type: string; message?: string }) => {
        child.off("exit", onExit);
        resolve(message);
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        child.off("message", onMessage);
        reject(exited(code, signal));
      };
      child.once("message", onMessage);
      child.once("exit", onExit);
    });
    child.send(command);
    const message = await answer;
    if (message.type === "error") throw new Error(`pool bench worker: ${message.message}`);
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = once(this.#child, "exit");
    this.#child.send({ type: "close" } satisfies Command);
    await exited;
  }

  kill(): void {
    this.#child.kill("SIGKILL");
  }
}

/** Leases per second of `workers` running `leases` each at once. */
function trial(name: string, workers: Worker[], mode: "pool" | "flock", leases: number): Trial {
  return {
    name,
    async run() {
      const start = process.hrtime.bigint();
      await Promise.all(workers.map((worker) => worker.request({ type: "run", mode, leases })));
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      return (workers.length * leases) / seconds;
    },
  };
}

async function freeBlock(): Promise<number> {
  // A block of 100 ports below the ephemeral range; the pool skips any in use anyway.
  for (let attempt = 0; ; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 120) * 100;
    const server = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(base, "127.0.0.1", () => resolve(true));
    });
    if (ok) {
      server.close();
      return base;
    }
    if (attempt > 20) throw new Error("no free port block");
  }
}

const benchmark: Benchmark = {
  name: "pool",
  description:
    "pool: leases/s (leasePort + release, two locked transactions) with 1 and 4 processes, local and over SSH; baselines: one bare flock exec per transaction, and 1 process",
  async setup() {
    const path = await mkdtemp(
      join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "qk-bench-pool-"),
    );
    const temp = { path, remove: () => rm(path, { recursive: true, force: true }) };
    const workers: Worker[] = [];
    let sshd: SshdFixture | undefined;
    try {
      sshd = await startSshd();
      const ssh: HostSpec = {
        transport: "ssh",
        host: sshd.host,
        port: sshd.port,
        user: sshd.user,
        privateKeyPath: sshd.privateKeyPath,
        knownHostsPath: sshd.knownHostsPath,
      };
      const group = async (spec: HostSpec, count: number, name: string) => {
        const base = await freeBlock();
        const members = Array.from({ length: count }, () => new Worker());
        workers.push(...members);
        await Promise.all(
          members.map((worker, id) =>
            worker.request({ type: "open", host: spec, stateDir: join(temp.path, name), base, id }),
          ),
        );
        return members;
      };
      const local1 = await group({ transport: "local" }, 1, "local1");
      const local4 = await group({ transport: "local" }, 4, "local4");
      const ssh1 = await group(ssh, 1, "ssh1");
      const ssh4 = await group(ssh, 4, "ssh4");
      return {
        cases: [
          {
            name: "pool.leases.local.1-process",
            unit: "leases/s",
            runs: 5,
            warmup: 1,
            subject: trial("pool: leasePort + release", local1, "pool", 100),
            baseline: trial("bare flock exec ×2 (the lock alone)", local1, "flock", 100),
          },
          {
            name: "pool.leases.local.4-processes",
            unit: "leases/s",
            runs: 5,
            warmup: 1,
            subject: trial("pool, 4 processes at once (total)", local4, "pool", 50),
            baseline: trial("pool, 1 process", local1, "pool", 100),
          },
          {
            name: "pool.leases.ssh.1-process",
            unit: "leases/s",
            runs: 5,
            warmup: 1,
            subject: trial("pool over SSH: leasePort + release", ssh1, "pool", 50),
            baseline: trial("bare flock exec ×2 over SSH", ssh1, "flock", 5),
          },
          {
            name: "pool.leases.ssh.4-processes",
            unit: "leases/s",
            runs: 5,
            warmup: 1,
            subject: trial("pool over SSH, 4 processes at once (total)", ssh4, "pool", 25),
            baseline: trial("pool over SSH, 1 process", ssh1, "pool", 50),
          },
        ],
        async teardown() {
          await Promise.all(workers.map((worker) => worker.close()));
          await sshd?.close();
          await temp.remove();
        },
      };
    } catch (error) {
      for (const worker of workers) worker.kill();
      try {
        await sshd?.close();
      } finally {
        await temp.remove();
      }
      throw error;
    }
  },
};

export default benchmark;
