/**
 * The baselines of the vm benchmark: the facade's own QEMU command line spawned
 * bare and driven over plain sockets with the least code (`bareBootToShell`,
 * `bareStartPaused`), and `BareVms`, which gives each one a directory and free
 * ports (untimed) and stops whatever they started, also on failure.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, rm } from "node:fs/promises";
import { createConnection } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Host } from "@qemu-kvm/host";
import { freePort } from "@qemu-kvm/testkit";
import { hostForwardPorts, optionValue, relocate, type VmTemplate } from "./argv.js";
import type { Stopwatch } from "./laps.js";
import { TextReader } from "./text-reader.js";

const run = promisify(execFile);

/** A bare VM: the template's argv in its own directory with its own ports, and the sockets opened to it. */
export interface BareVm extends VmTemplate {
  readonly pidfile: string;
  readonly readers: TextReader[];
}

export interface Login {
  readonly user: string;
  readonly password: string;
}

/** Every bare VM prepared, until it is stopped: nothing is left behind. */
export class BareVms {
  readonly #host: Host;
  readonly #root: string;
  readonly #live = new Set<BareVm>();
  /** The host ports of the live VMs: a new VM gets others. */
  readonly #ports = new Map<BareVm, readonly number[]>();
  #count = 0;

  /** `root`: a private directory the VMs' directories are made in. */
  constructor(host: Host, root: string) {
    this.#host = host;
    this.#root = root;
  }

  /** A new VM from `template` (not started): its own directory and free host ports. Untimed. */
  async prepare(template: VmTemplate): Promise<BareVm> {
    const runtimeDir = join(this.#root, `vm${++this.#count}`);
    const taken = new Set([...this.#ports.values()].flat());
    const ports: number[] = [];
    const wanted = hostForwardPorts(template.argv).length;
    while (ports.length < wanted) {
      const port = await freePort();
      if (!taken.has(port)) ports.push(port);
      taken.add(port);
    }
    const moved = relocate(template, { runtimeDir, hostPorts: ports });
    const pidfile = optionValue(moved.argv, "-pidfile");
    if (!pidfile) throw new Error("the facade's argv has no -pidfile");
    const vm: BareVm = { ...moved, pidfile, readers: [] };
    this.#live.add(vm);
    this.#ports.set(vm, ports);
    return vm;
  }

  /** A socket to one of `vm`'s unix sockets, closed when `vm` is stopped. */
  connect(vm: BareVm, path: string): TextReader {
    const reader = new TextReader(createConnection(path));
    vm.readers.push(reader);
    return reader;
  }

  /**
   * Kills `vm`'s QEMU (SIGKILL, if its pidfile names a live process whose command
   * line names the VM's directory), waits until it is gone, removes the directory.
   */
  async stop(vm: BareVm): Promise<void> {
    for (const reader of vm.readers) reader.destroy();
    const pid = Number((await readFile(vm.pidfile, "utf8").catch(() => "")).trim());
    if (Number.isSafeInteger(pid) && pid > 1) {
      const info = await this.#host.processInfo(pid, { timeoutMs: 10_000 });
      if (info && info.state !== "zombie" && info.cmdline.some((a) => a.includes(vm.runtimeDir))) {
        const identity = { startTime: info.startTime, timeoutMs: 10_000 };
        await this.#host.kill(pid, "SIGKILL", identity);
        await this.#host.waitForExit(pid, identity);
      }
    }
    await rm(vm.runtimeDir, { recursive: true, force: true });
    this.#live.delete(vm);
    this.#ports.delete(vm);
  }

  /** Stops every VM still live; the first failure is rethrown after all were tried. */
  async stopAll(): Promise<void> {
    const results = await Promise.allSettled([...this.#live].map((vm) => this.stop(vm)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }
}

/** The directory, then the argv: daemonized, so it returns once QEMU's sockets exist. */
async function spawnBare(vm: BareVm, signal: AbortSignal): Promise<void> {
  await mkdir(vm.runtimeDir, { mode: 0o700 });
  await run(vm.argv[0]!, vm.argv.slice(1), { signal });
}

/**
 * The baseline of `vm.start-to-login`, the least code: spawn, connect the
 * console, `cont` on QMP (the argv has `-S`), type the user at `login:` and the
 * password at `Password:`, done at the shell's `# `. Returns the console.
 */
export async function bareBootToShell(
  bare: BareVms,
  vm: BareVm,
  login: Login,
  signal: AbortSignal,
  watch?: Stopwatch,
): Promise<TextReader> {
  await spawnBare(vm, signal);
  watch?.lap("spawn (daemonized)");
  const serial = bare.connect(vm, vm.serialPath);
  bare.connect(vm, vm.qmpPath).write('{"execute":"qmp_capabilities"}\n{"execute":"cont"}\n');
  await serial.waitFor("login:", signal);
  watch?.lap("boot to login:");
  serial.write(`${login.user}\n`);
  await serial.waitFor("Password:", signal);
  serial.write(`${login.password}\n`);
  await serial.waitFor("# ", signal);
  watch?.lap("login");
  return serial;
}

/** The baseline of `vm.paused-16`, for one VM: spawn (paused by `-S`), QMP greets and answers `qmp_capabilities`. */
export async function bareStartPaused(
  bare: BareVms,
  vm: BareVm,
  signal: AbortSignal,
  watch?: Stopwatch,
): Promise<void> {
  await spawnBare(vm, signal);
  watch?.lap("spawn (daemonized)");
  const qmp = bare.connect(vm, vm.qmpPath);
  qmp.write('{"execute":"qmp_capabilities"}\n');
  await qmp.waitFor('"return"', signal);
  watch?.lap("qmp");
}
