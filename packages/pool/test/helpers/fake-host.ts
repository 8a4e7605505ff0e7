/**
 * A `Host` for unit tests: `spawn` starts no process but an in-memory anchor
 * that speaks the anchor's protocol (see src/anchor/script.ts) over streams,
 * so the pool client runs unchanged, through its public API, without a shell.
 * It holds one state file, a lock a test can hold, a set of live processes and
 * a PCI sysfs, and counts what it was asked.
 */
import { PassThrough } from "node:stream";
import type { Host, HostProcess, ProcessExit } from "@qemu-kvm/host";

/** A sysfs device: `physfn` makes a VF, `totalVfs` a PF. */
export interface FakePciDevice {
  physfn?: string;
  totalVfs?: number;
}

/** A `/proc/PID/stat` line with `state` and start time `startTime`. */
export function statLine(pid: number, startTime: bigint | string, state = "S"): string {
  return `${pid} (fake) ${state} 1 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 ${startTime} 1000`;
}

const BOOT_ID = "fake-boot";

export class FakeHost {
  readonly name = "fake-host";
  /** The state file's content; `undefined`: no file. */
  state: string | undefined;
  /** `/sys/devices/system/cpu/online`. */
  online = "0-7";
  readonly pci = new Map<string, FakePciDevice>();
  /** Live processes: pid → start time. Anchors are added when they start. */
  readonly processes = new Map<number, bigint>();
  /** How many anchors were started. */
  spawns = 0;
  /** Every request and decision line the anchors read, in order (not the state data). */
  readonly lines: string[] = [];
  readonly #lockWaiters: (() => void)[] = [];
  #lockHeld = false;
  #nextPid = 1000;

  /** This fake as the `Host` the pool takes. */
  get host(): Host {
    return this as unknown as Host;
  }

  /** Takes the lock as another process would: transactions wait until `releaseLock()`. */
  holdLock(): void {
    this.#lockHeld = true;
  }

  releaseLock(): void {
    this.#lockHeld = false;
    for (const waiter of this.#lockWaiters.splice(0)) waiter();
  }

  /** How many transactions (`t` lines) were asked for. */
  get transactions(): number {
    return this.lines.filter((line) => line.startsWith("t ")).length;
  }

  /** Starts an in-memory anchor; `args` are the anchor's `sh -c` arguments. */
  spawn(file: string, args: readonly string[] = []): HostProcess {
    this.spawns++;
    return new FakeAnchor(this, [file, ...args], this.#nextPid++).process;
  }

  async close(): Promise<void> {}

  /** @internal Resolves once nobody else holds the lock. */
  lock(): Promise<void> {
    if (!this.#lockHeld) return Promise.resolve();
    return new Promise((resolve) => this.#lockWaiters.push(resolve));
  }

  /** @internal */
  get bootId(): string {
    return BOOT_ID;
  }
}

/** One in-memory anchor: reads request lines from stdin, writes framed answers to stdout. */
class FakeAnchor {
  readonly process: HostProcess;
  readonly #stdin = new PassThrough();
  readonly #stdout = new PassThrough();
  readonly #nonce: string;
  readonly #dir: string;
  #buffer = Buffer.alloc(0);
  #exit!: (exit: ProcessExit) => void;
  #done = false;
  /** Set while a transaction waits for its decision. */
  #awaiting: "decision" | { size: number } | "nonce" | undefined;
  #pending: string | undefined;
  #busy: Promise<void> = Promise.resolve();

  constructor(
    readonly fake: FakeHost,
    argv: string[],
    readonly pid: number,
  ) {
    // argv: /bin/sh -c SCRIPT qemu-kvm-pool NONCE STATE_DIR EXPIRY PERIOD LOCK_WAIT UMASK AWK
    this.#nonce = argv[4] ?? "";
    this.#dir = argv[5] || "/fake/state";
    const exited = new Promise<ProcessExit>((resolve) => {
      this.#exit = resolve;
    });
    const stderr = new PassThrough();
    this.process = {
      argv,
      stdin: this.#stdin,
      stdout: this.#stdout,
      stderr,
      pid: Promise.resolve(pid),
      exited,
      kill: async (signal = "SIGTERM") => {
        const running = !this.#done;
        this.#end({ exitCode: null, signal: signal as NodeJS.Signals, durationMs: 0 });
        return running;
      },
      stop: async () => {
        this.#end({ exitCode: null, signal: "SIGTERM", durationMs: 0 });
        return exited;
      },
      [Symbol.asyncDispose]: async () => {
        this.#end({ exitCode: null, signal: "SIGTERM", durationMs: 0 });
      },
    } as HostProcess;
    fake.processes.set(pid, 1000n + BigInt(pid));
    this.#stdin.on("data", (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#busy = this.#busy.then(() => this.#consume());
    });
    this.#stdin.on("end", () => {
      this.#busy = this.#busy.then(() => this.#end({ exitCode: 0, signal: null, durationMs: 0 }));
    });
    this.#header("info");
    this.#write(
      `pid ${pid}\nstart ${1000n + BigInt(pid)}\nboot ${fake.bootId}\nuid 0\ndir ${this.#dir}\ndurable 0\nlockwait 1\nwatchdog 0\nss 1\nonline ${fake.online}\n`,
    );
    this.#header("end ok");
  }

  #write(text: string): void {
    if (!this.#done) this.#stdout.write(text);
  }

  #header(text: string): void {
    this.#write(`\x1e${this.#nonce} ${text}\n`);
  }

  #end(exit: ProcessExit): void {
    if (this.#done) return;
    this.#done = true;
    this.fake.processes.delete(this.pid);
    this.#stdout.end();
    this.#exit(exit);
  }

  /** Takes the next line (without its newline) from the buffer, if a whole one is there. */
  #line(): string | undefined {
    const newline = this.#buffer.indexOf(0x0a);
    if (newline < 0) return undefined;
    const line = this.#buffer.subarray(0, newline).toString("utf8");
    this.#buffer = this.#buffer.subarray(newline + 1);
    return line;
  }

  async #consume(): Promise<void> {
    for (;;) {
      if (this.#done) return;
      const awaiting = this.#awaiting;
      if (typeof awaiting === "object") {
        if (this.#buffer.length < awaiting.size) return;
        this.#pending = this.#buffer.subarray(0, awaiting.size).toString("utf8");
        this.#buffer = this.#buffer.subarray(awaiting.size);
        this.#awaiting = "nonce";
        continue;
      }
      const line = this.#line();
      if (line === undefined) return;
      if (line === "") continue;
      if (awaiting === "nonce") {
        this.#awaiting = undefined;
        if (line === this.#nonce) {
          this.fake.state = this.#pending;
          this.#header("end committed");
        } else this.#header("end error commit short-write");
        continue;
      }
      this.fake.lines.push(line);
      if (awaiting === "decision") {
        const size = /^c (\d+)$/.exec(line);
        if (size) this.#awaiting = { size: Number(size[1]) };
        else {
          this.#awaiting = undefined;
          this.#header("end unchanged");
        }
        continue;
      }
      if (line.startsWith("t ")) {
        await this.fake.lock();
        this.#facts(line.split(" "));
        this.#awaiting = "decision";
      }
    }
  }

  /** The facts of `t NET LO HI PIDS PCI`, as the anchor prints them under the lock. */
  #facts([, net, , , pids = "-", pci = "-"]: string[]): void {
    if (net === "1") this.#header("ss");
    if (pci !== "-") {
      this.#header("pci");
      for (const address of pci.split(",")) {
        const device = this.fake.pci.get(address);
        if (!device) this.#write(`missing ${address}\n`);
        else this.#write(`device ${address} ${device.physfn ?? "-"} ${device.totalVfs ?? "-"}\n`);
      }
    }
    const state = this.fake.state;
    this.#header(`state ${state === undefined ? 0 : 1}`);
    if (state !== undefined) this.#write(state);
    this.#header("proc");
    const asked = new Set<number>();
    for (const match of (state ?? "").matchAll(/^\{"owner":.*?"pid":(\d+)/gm))
      asked.add(Number(match[1]));
    if (pids !== "-") for (const pid of pids.split(",")) asked.add(Number(pid));
    for (const pid of asked) {
      const start = this.fake.processes.get(pid);
      this.#write(start === undefined ? `${pid} -\n` : `${pid} ${statLine(pid, start)}\n`);
    }
    this.#header("end ready");
  }
}
