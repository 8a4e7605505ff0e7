import { spawn } from "node:child_process";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer, type Server, Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { type Host, localHost, sshHost } from "@qemu-kvm/host";
import type { SshdFixture } from "@qemu-kvm/testkit";

const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
const WORKER = fileURLToPath(new URL("./fixtures/worker.ts", import.meta.url));

/** Whether `port` can be bound on 127.0.0.1 (TCP) and 0.0.0.0 (UDP) right now. */
async function bindable(port: number): Promise<boolean> {
  const server = createServer();
  const tcp = await new Promise<boolean>((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "0.0.0.0", () => resolve(true));
  });
  if (tcp) await new Promise((resolve) => server.close(resolve));
  if (!tcp) return false;
  const udp = createSocket("udp4");
  const ok = await new Promise<boolean>((resolve) => {
    udp.once("error", () => resolve(false));
    udp.bind(port, "0.0.0.0", () => resolve(true));
  });
  udp.close();
  return ok;
}

/**
 * A block of `size` ports (below the ephemeral range) nothing uses now, so tests
 * can tell exactly which port the pool must pick. Other engineers' VMs run on
 * this machine: the default ranges (6000…) are not used by tests.
 */
export async function freePortBlock(size: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 120) * 100;
    let free = true;
    for (let port = base; port < base + size && free; port++) free = await bindable(port);
    if (free) return base;
  }
  throw new Error("no free port block found");
}

/** Things bound on ports for a test; `closeAll()` in afterEach. */
export class Listeners {
  readonly #servers: Server[] = [];
  readonly #udp: UdpSocket[] = [];
  readonly #sockets: Socket[] = [];

  async tcp(port: number, address = "127.0.0.1"): Promise<Server> {
    const server = createServer((socket) => {
      this.#sockets.push(socket);
      socket.resume();
    });
    this.#servers.push(server);
    server.listen(port, address);
    await once(server, "listening");
    return server;
  }

  async udp(
    port: number,
    type: "udp4" | "udp6" = "udp4",
    address = type === "udp4" ? "0.0.0.0" : "::1",
  ): Promise<void> {
    const socket = createSocket(type);
    this.#udp.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(port, address, () => resolve());
    });
  }

  /** A TCP connection whose local end is bound to `localPort` (connected, not listening). */
  async connectedFrom(localPort: number, server: Server): Promise<void> {
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no address");
    const socket = new Socket();
    this.#sockets.push(socket);
    socket.connect({ port: address.port, host: "127.0.0.1", localPort, localAddress: "127.0.0.1" });
    await once(socket, "connect");
  }

  async closeAll(): Promise<void> {
    for (const socket of this.#sockets.splice(0)) socket.destroy();
    for (const socket of this.#udp.splice(0)) socket.close();
    await Promise.all(
      this.#servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))),
    );
  }
}

/** The state file as the pool wrote it (tests run on the host itself, local or over SSH to loopback). */
export function readStateLines(stateDir: string): Record<string, unknown>[] {
  return readFileSync(`${stateDir}/state.jsonl`, "utf8")
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** How a test reaches the host: locally, or over SSH to the test sshd. */
export interface PoolTarget {
  name: string;
  open(): Promise<Host>;
  /** What a worker process needs to open the same host (its argv). */
  workerHost(): WorkerHost;
  /** Drops the connection (SSH only). */
  dropConnection?(): Promise<void>;
}

export type WorkerHost =
  | { transport: "local" }
  | {
      transport: "ssh";
      host: string;
      port: number;
      user: string;
      privateKeyPath: string;
      knownHostsPath: string;
    };

export function localTarget(): PoolTarget {
  return {
    name: "local",
    open: async () => localHost(),
    workerHost: () => ({ transport: "local" }),
  };
}

export function sshTarget(sshd: () => SshdFixture): PoolTarget {
  return {
    name: "ssh",
    open: () =>
      sshHost({
        host: sshd().host,
        port: sshd().port,
        user: sshd().user,
        privateKey: sshd().privateKey,
        hostKey: { knownHostsFile: sshd().knownHostsPath },
      }),
    workerHost: () => ({
      transport: "ssh",
      host: sshd().host,
      port: sshd().port,
      user: sshd().user,
      privateKeyPath: sshd().privateKeyPath,
      knownHostsPath: sshd().knownHostsPath,
    }),
    dropConnection: () => sshd().restart(),
  };
}

export async function openWorkerHost(spec: WorkerHost): Promise<Host> {
  if (spec.transport === "local") return localHost();
  return sshHost({
    host: spec.host,
    port: spec.port,
    user: spec.user,
    privateKey: readFileSync(spec.privateKeyPath, "utf8"),
    hostKey: { knownHostsFile: spec.knownHostsPath },
  });
}

/** A worker process (test/fixtures/worker.ts) run with tsx, sources used directly. */
export interface Worker {
  readonly pid: number;
  /** Resolves the first message matching `predicate` (also one already received). */
  waitFor(
    predicate: (message: Record<string, unknown>) => boolean,
  ): Promise<Record<string, unknown>>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  kill(signal: NodeJS.Signals): void;
  /** Writes a command line to the worker's stdin. */
  send(line: string): void;
}

const live = new Set<Worker>();

/** Starts a worker; `killAllWorkers()` in afterEach kills what is left. */
export function startWorker(
  config: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
  user?: { uid: number; gid: number },
): Worker {
  const child = spawn(
    process.execPath,
    ["--conditions=@qemu-kvm/source", "--import", "tsx", WORKER, JSON.stringify(config)],
    {
      cwd: PACKAGE_DIR,
      env,
      stdio: ["pipe", "pipe", "pipe"],
      ...user,
    },
  );
  child.stdin.on("error", () => {});
  const messages: Record<string, unknown>[] = [];
  const waiters: {
    predicate: (message: Record<string, unknown>) => boolean;
    resolve: (m: Record<string, unknown>) => void;
    reject: (e: Error) => void;
  }[] = [];
  let stderr = "";
  let pending = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    pending += chunk;
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
      if (!line.startsWith("{")) continue;
      const message = JSON.parse(line) as Record<string, unknown>;
      messages.push(message);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(message)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(message);
        }
      }
    }
  });
  const exited = once(child, "exit").then(([code, signal]) => {
    live.delete(worker);
    for (const waiter of waiters.splice(0))
      waiter.reject(
        new Error(`worker exited (${code ?? signal}) before the awaited message:\n${stderr}`),
      );
    return { code: code as number | null, signal: signal as NodeJS.Signals | null, stderr };
  });
  const worker: Worker = {
    pid: child.pid!,
    waitFor(predicate) {
      const found = messages.find(predicate);
      if (found) return Promise.resolve(found);
      if (child.exitCode !== null || child.signalCode !== null)
        return Promise.reject(new Error(`worker already exited:\n${stderr}`));
      return new Promise((resolve, reject) => waiters.push({ predicate, resolve, reject }));
    },
    exited,
    kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    send(line) {
      child.stdin.write(`${line}\n`);
    },
  };
  live.add(worker);
  return worker;
}

export async function killAllWorkers(): Promise<void> {
  const workers = [...live];
  for (const worker of workers) {
    worker.kill("SIGCONT");
    worker.kill("SIGKILL");
  }
  await Promise.all(workers.map((worker) => worker.exited));
}

/** One grant as a churn worker reports it. */
export interface Held {
  resources: string[];
  from: string;
  to: string;
}

/**
 * Two grants made to different workers that overlap in time and conflict: the
 * same port, CPU or PCI device, or a PF and one of its VFs. With a working lock
 * this is impossible: a grant is recorded from the return of its lease call to
 * the start of its release call, and a conflicting grant can only be committed
 * after that release was committed, so it returns later.
 */
export function findConflicts(grants: { worker: number; held: Held }[]): string[] {
  interface Use {
    worker: number;
    key: string;
    address: string;
    pf: boolean;
    from: bigint;
    to: bigint;
  }
  const domains = new Map<string, Use[]>();
  for (const { worker, held } of grants) {
    for (const resource of held.resources) {
      let domain = resource;
      let address = resource;
      let pf = false;
      if (resource.startsWith("pci:")) {
        const [device, family] = resource.slice(4).split("@");
        address = device!;
        domain = `pci:${family || device}`;
        pf = family === device;
      }
      const list = domains.get(domain) ?? [];
      list.push({
        worker,
        key: resource,
        address,
        pf,
        from: BigInt(held.from),
        to: BigInt(held.to),
      });
      domains.set(domain, list);
    }
  }
  const conflicts: string[] = [];
  for (const uses of domains.values()) {
    uses.sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
    for (let i = 0; i < uses.length; i++) {
      for (let j = i + 1; j < uses.length && uses[j]!.from <= uses[i]!.to; j++) {
        const a = uses[i]!;
        const b = uses[j]!;
        if (a.worker === b.worker) continue;
        if (a.address === b.address || a.pf || b.pf)
          conflicts.push(
            `${a.key} held by worker ${a.worker} and ${b.key} by worker ${b.worker} at the same time`,
          );
      }
    }
  }
  return conflicts;
}
