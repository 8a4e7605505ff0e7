/** The VM object: one VM on one host, from start to stop. */
import type { SpecWarning } from "@qemu-kvm/bootline";
import type { CommandResult, RunOptions } from "@qemu-kvm/control";
import { type CallOptions, checkCallOptions } from "@qemu-kvm/core";
import type { Host, SshHost } from "@qemu-kvm/host";
import type { QmpClient, QmpEvent, QmpEventFilter, RunState } from "@qemu-kvm/monitor";
import { operations } from "../debug.js";
import { type VmState, VmStateError } from "../errors.js";
import type { VmRecord } from "../runtime/record.js";
import { removeRuntimeDir } from "../runtime/runtime-dir.js";
import type { PciMapping } from "../start/pci-map.js";
import type { StartProgress } from "../start/progress.js";
import { type StartOptions, startVm } from "../start/start.js";
import { connectGuest, type GuestOptions } from "./guest.js";
import { type CreateVmOptions, type ResolvedVmOptions, resolveVmOptions } from "./options.js";
import type { VmSession } from "./session.js";
import { type StopOptions, type StopResult, stopQemu } from "./stop.js";

/** `vm.status()`: what QEMU says, or that it is gone. */
export interface VmStatusReport {
  readonly state: VmState;
  /** QEMU's run state (`running`, `paused`, `inmigrate`, `prelaunch`…) while it runs. */
  readonly runState?: RunState;
  readonly pid?: number;
}

const START_KEYS = ["onProgress"];
const QUICK_START_KEYS = ["onProgress", "paused"];

export class Vm implements AsyncDisposable {
  readonly #options: ResolvedVmOptions;
  #state: VmState = "created";
  #session: VmSession | undefined;
  #pciMap: readonly PciMapping[] = [];
  #timeline: readonly StartProgress[] = [];
  #warnings: readonly SpecWarning[] = [];
  #busy: Promise<unknown> | undefined;
  /** The cleanup after a crash (leases, files), which `stop()` waits for. */
  #crashCleanup: Promise<void> | undefined;

  /** Use `createVm` (or `attachVm`). */
  constructor(options: ResolvedVmOptions, session?: VmSession, state?: VmState) {
    this.#options = options;
    if (session) this.#adopt(session, state ?? "running");
  }

  get name(): string {
    return this.#options.name;
  }

  get host(): Host {
    return this.#options.host;
  }

  get state(): VmState {
    return this.#state;
  }

  /** QEMU's pid, while it runs. */
  get pid(): number | undefined {
    return this.#session?.record.pid;
  }

  /** The VM's UUID (its DMI product UUID in the guest). */
  get uuid(): string | undefined {
    return this.#session?.record.uuid;
  }

  /** The VM's private runtime directory on its host. */
  get runtimeDir(): string | undefined {
    return this.#session?.record.runtimeDir;
  }

  /** The VM's record, as other processes find it. */
  get record(): VmRecord | undefined {
    return this.#session?.record;
  }

  /** The QMP client, for anything the facade does not wrap. */
  get qmp(): QmpClient {
    return this.#running("qmp").qmp;
  }

  /** The host end of the guest's forwarded SSH port (`{ host: "127.0.0.1", port: 6001 }`). */
  get sshAddress(): { readonly host: string; readonly port: number } | undefined {
    return this.#session?.record.ssh;
  }

  /** Passed-through devices: host address → guest address, from QEMU. */
  get pciMap(): readonly PciMapping[] {
    return this.#pciMap;
  }

  /**
   * What bootline's `specWarnings` said of the spec this VM was last started with: each
   * listener other local users (or other machines) can reach, with the field to change
   * (a telnet console, VNC without a password, `-incoming tcp:`, a wildcard address).
   * Empty before a start, and for a VM found by `attachVm`.
   */
  get warnings(): readonly SpecWarning[] {
    return this.#warnings;
  }

  /** The phases of the last start, with their times. */
  get timeline(): readonly StartProgress[] {
    return this.#timeline;
  }

  /**
   * Starts the VM and resolves once the guest is ready (logged in on its
   * console, or its agent answering) with its network up. See the README for
   * the phases; a boot that misses `bootTimeoutMs` is retried once.
   */
  start(options?: StartOptions): Promise<void> {
    return this.#start("boot", options);
  }

  /**
   * Starts QEMU and resolves once it runs, without waiting for the guest
   * (`{ paused: true }`: with its vCPUs still stopped).
   */
  quickStart(options?: StartOptions): Promise<void> {
    return this.#start("quick", options);
  }

  /** Starts QEMU as a migration target: paused, waiting for the incoming migration. */
  startIncoming(options?: StartOptions): Promise<void> {
    return this.#start("incoming", options);
  }

  #start(mode: "boot" | "quick" | "incoming", options: StartOptions | undefined): Promise<void> {
    const checked = checkCallOptions(options, mode === "quick" ? QUICK_START_KEYS : START_KEYS);
    if (this.#options.attached)
      throw new VmStateError({
        vm: this.name,
        state: this.#state,
        operation: "start",
        expected: "a VM made by createVm (an attached VM has no spec to start from)",
      });
    if (this.#state !== "created" && this.#state !== "stopped" && this.#state !== "crashed")
      throw new VmStateError({
        vm: this.name,
        state: this.#state,
        operation: "start",
        expected: "created or stopped",
      });
    this.#state = "starting";
    // A spec with an incoming migration starts as its target, as DTS did.
    const effective = mode === "boot" && this.#options.spec.incoming ? "incoming" : mode;
    return operations.trace("start", this.name, async () => {
      try {
        const started = await startVm(this.#options, effective, checked);
        this.#pciMap = started.pciMap;
        this.#timeline = started.timeline.entries;
        this.#warnings = started.warnings;
        this.#adopt(
          started.session,
          effective === "incoming" || checked.paused ? "paused" : "running",
        );
      } catch (error) {
        this.#state = "stopped";
        throw error;
      }
    });
  }

  #adopt(session: VmSession, state: VmState): void {
    this.#session = session;
    this.#state = state;
    void session.crashed.then(() => {
      this.#crashCleanup = this.#crashed(session);
    });
  }

  /** QEMU went away unasked: what it held is released (its leases, its files). */
  async #crashed(session: VmSession): Promise<void> {
    if (this.#session !== session) return;
    this.#state = "crashed";
    session.destroy();
    const call = { timeoutMs: 30_000 };
    await session.pool.release(this.name, call).catch(() => {});
    await removeRuntimeDir(session.host, session.record.runtimeDir, call).catch(() => {});
    if (session.ownsPool) await session.pool.close().catch(() => session.pool.destroy());
  }

  #running(operation: string): VmSession {
    const session = this.#session;
    if (!session || (this.#state !== "running" && this.#state !== "paused"))
      throw new VmStateError({ vm: this.name, state: this.#state, operation, expected: "running" });
    return session;
  }

  /**
   * Runs `command` with the guest's shell over the control channel; resolves
   * with its exit status and output (a failing command resolves too). Rejects
   * with `ERR_VM_CRASHED` at once if QEMU goes away meanwhile.
   */
  exec(command: string, options?: RunOptions): Promise<CommandResult> {
    const session = this.#running("exec");
    const channel = session.channel;
    if (!channel)
      throw new VmStateError({
        vm: this.name,
        state: this.#state,
        operation: "exec",
        expected: "booted (not quick-started)",
      });
    return operations.trace("exec", this.name, () =>
      session.guard("exec", channel.run(command, options)),
    );
  }

  /** From QMP (`query-status`), or `crashed`/`stopped` when QEMU is gone. */
  async status(options?: CallOptions): Promise<VmStatusReport> {
    const session = this.#session;
    if (
      !session ||
      this.#state === "stopped" ||
      this.#state === "crashed" ||
      this.#state === "created"
    )
      return { state: this.#state };
    const status = await session.guard("status", session.qmp.queryStatus(options));
    return { state: this.#state, runState: status.status, pid: session.record.pid };
  }

  /** QMP events of the VM (every one, or those `filter` names). */
  events(filter?: QmpEventFilter): AsyncIterable<QmpEvent> {
    return this.#running("events").qmp.events(filter);
  }

  /**
   * A `Host` inside the guest: SSH to the guest's forwarded port, through the
   * VM's host (also when that is a remote machine). Close it when done.
   */
  guest(options?: GuestOptions): Promise<SshHost> {
    const session = this.#running("guest");
    return operations.trace("guest", this.name, () =>
      session.guard("guest", connectGuest(session, this.#options, options)),
    );
  }

  /**
   * Stops the VM by stages (see `StopResult`), removes its runtime files and
   * releases its leases. A VM that never started is left as it is: `not-running`.
   */
  stop(options?: StopOptions): Promise<StopResult> {
    const checked = checkCallOptions(options, ["guestTimeoutMs"]);
    const session = this.#session;
    const notRunning: StopResult = { stage: "not-running", durationMs: 0, stages: [] };
    if (this.#state === "crashed")
      return (this.#crashCleanup ?? Promise.resolve()).then(() => {
        this.#state = "stopped";
        this.#session = undefined;
        return notRunning;
      });
    if (!session || this.#state === "created" || this.#state === "stopped")
      return Promise.resolve(notRunning);
    if (this.#busy) return this.#busy as Promise<StopResult>;
    this.#state = "stopping";
    const stopping = operations.trace("stop", this.name, async () => {
      try {
        const result = await stopQemu(session, checked);
        session.destroy();
        const call = { timeoutMs: 30_000 };
        await removeRuntimeDir(session.host, session.record.runtimeDir, call);
        await session.pool.release(this.name, call);
        if (session.ownsPool) await session.pool.close();
        return result;
      } finally {
        this.#state = "stopped";
        this.#session = undefined;
        this.#busy = undefined;
      }
    });
    this.#busy = stopping;
    return stopping;
  }

  /**
   * Lets the VM run on without this controller: closes the console (which
   * logs out first), the agent and QMP. `attachVm` takes it up again.
   */
  async detach(): Promise<void> {
    const session = this.#session;
    if (!session) return;
    this.#session = undefined;
    this.#state = "created";
    session.stopping = true;
    await session.detach();
    if (session.ownsPool) await session.pool.close().catch(() => session.pool.destroy());
  }

  /** `await using vm = createVm(…)`: the VM is stopped when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** A VM on `host`, not started yet. Checks every option synchronously: nothing runs. */
export function createVm(options: CreateVmOptions): Vm {
  return new Vm(resolveVmOptions(options));
}
