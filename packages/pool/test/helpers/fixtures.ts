/**
 * The pool's integration fixtures, on top of @qemu-kvm/testkit's (`tempDir`,
 * `sshd`), each cleaned up after its scope even when a test fails:
 * - `workers`: pool clients in processes of their own (killed after the test);
 * - `target`: how the test reaches the host, one per file: `localTest` runs
 *   `createLocalHost()`, `sshTest` `connectSshHost()` to the file's sshd (the same machine);
 * - `pools`: pools opened on the target, processes and sockets of a test.
 */
import { join } from "node:path";
import { connectSshHost, createLocalHost, type Host, type HostProcess } from "@qemu-kvm/host";
import type { SshdFixture, TempDir } from "@qemu-kvm/testkit";
import { test as base } from "@qemu-kvm/testkit/fixtures";
import { openPool, type PoolOptions, type ResourcePool } from "../../src/index.js";
import { Listeners } from "./ports.js";
import type { WorkerHost } from "./worker-host.js";
import { Workers } from "./workers.js";

/** How a test reaches the host under test. */
export interface PoolTarget {
  readonly name: "local" | "ssh";
  /** The file's host: `createLocalHost()`, or `connectSshHost()` to the file's sshd. */
  readonly host: Host;
  /** What a worker process needs to open the same host. */
  readonly workerHost: WorkerHost;
  /** Drops the connection (SSH only). */
  dropConnection?(): Promise<void>;
}

/** A worker's way to the file's sshd. */
export function sshWorkerHost(sshd: SshdFixture): WorkerHost {
  return {
    transport: "ssh",
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    privateKeyPath: sshd.privateKeyPath,
    knownHostsPath: sshd.knownHostsPath,
  };
}

/** What one test opens on the host; everything is stopped and closed after it. */
export class PoolKit {
  readonly host: Host;
  /** The state directory `open()` uses unless the options name another. */
  stateDir: string;
  readonly listeners = new Listeners();
  readonly #pools: ResourcePool[] = [];
  readonly #processes: HostProcess[] = [];

  constructor(host: Host, stateDir: string) {
    this.host = host;
    this.stateDir = stateDir;
  }

  async open(options: PoolOptions = {}): Promise<ResourcePool> {
    const pool = await openPool(this.host, { stateDir: this.stateDir, ...options });
    this.#pools.push(pool);
    return pool;
  }

  /** A long-running process on the host, with its identity. */
  async sleeper(): Promise<{ process: HostProcess; pid: number; startTime: bigint }> {
    const process = this.host.spawn("sleep", ["1000"]);
    this.#processes.push(process);
    const pid = await process.pid;
    const info = await this.host.processInfo(pid);
    return { process, pid, startTime: info!.startTime };
  }

  /** Takes the lock on `path` from outside the pool; resolves once held. */
  async holdLock(path: string): Promise<HostProcess> {
    const holder = this.host.spawn("flock", [path, "sh", "-c", "echo locked; exec cat"]);
    this.#processes.push(holder);
    holder.stderr.resume();
    await new Promise<void>((resolve) => holder.stdout.once("data", () => resolve()));
    return holder;
  }

  async cleanup(): Promise<void> {
    // Processes first: one may hold the lock a pool's call waits for.
    for (const process of this.#processes.splice(0)) await process.stop().catch(() => {});
    for (const pool of this.#pools.splice(0)) await pool.close().catch(() => pool.destroy());
    await this.listeners.closeAll();
  }
}

export const test = base.extend("workers", async ({}, { onCleanup }) => {
  const workers = new Workers();
  onCleanup(() => workers.killAll());
  return workers;
});

const pools = async (
  { target, tempDir }: { target: PoolTarget; tempDir: TempDir },
  { onCleanup }: { onCleanup: (cleanup: () => Promise<void>) => void },
): Promise<PoolKit> => {
  const kit = new PoolKit(target.host, join(tempDir.path, "state"));
  onCleanup(() => kit.cleanup());
  return kit;
};

export const localTest = test
  .extend("target", { scope: "file" }, async ({}, { onCleanup }): Promise<PoolTarget> => {
    const host = createLocalHost();
    onCleanup(() => host.close());
    return { name: "local", host, workerHost: { transport: "local" } };
  })
  .extend("pools", pools);

export const sshTest = test
  .extend("target", { scope: "file" }, async ({ sshd }, { onCleanup }): Promise<PoolTarget> => {
    const host = await connectSshHost({
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      privateKey: sshd.privateKey,
      hostKey: { knownHostsFile: sshd.knownHostsPath },
    });
    onCleanup(() => host.close());
    return {
      name: "ssh",
      host,
      workerHost: sshWorkerHost(sshd),
      dropConnection: () => sshd.restart(),
    };
  })
  .extend("pools", pools);

export type TargetTest = typeof localTest;
