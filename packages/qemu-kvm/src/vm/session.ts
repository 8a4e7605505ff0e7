/**
 * A running VM as the controller holds it: its record, its QMP client, its
 * control channel, its pool. Knows when QEMU goes away unasked (its monitor
 * closes): every call waiting on the VM then rejects at once with
 * `ERR_VM_CRASHED`, and the VM's leases and files are cleaned up.
 */
import type { ControlChannel, GuestAgentClient, SerialConsole } from "@qemu-kvm/control";
import { ClosedError } from "@qemu-kvm/core";
import type { Host } from "@qemu-kvm/host";
import type { QmpClient } from "@qemu-kvm/monitor";
import type { ResourcePool } from "@qemu-kvm/pool";
import { VmCrashedError } from "../errors.js";
import type { VmRecord } from "../runtime/record.js";

export interface SessionParts {
  readonly host: Host;
  readonly record: VmRecord;
  readonly qmp: QmpClient;
  readonly pool: ResourcePool;
  /** The pool was opened for this VM (and is closed with it). */
  readonly ownsPool: boolean;
  readonly console?: SerialConsole;
  readonly agent?: GuestAgentClient;
}

export class VmSession {
  readonly host: Host;
  readonly record: VmRecord;
  readonly qmp: QmpClient;
  readonly pool: ResourcePool;
  readonly ownsPool: boolean;
  console: SerialConsole | undefined;
  agent: GuestAgentClient | undefined;
  /** Set while the controller itself stops QEMU: its monitor closing is then expected. */
  stopping = false;
  /** The guest answered on its control channel (a quick or incoming start never waited for it). */
  guestReady = false;
  /** Settles when QEMU went away unasked; the reason every waiting call rejects with. */
  readonly crashed: Promise<VmCrashedError>;
  #crash: VmCrashedError | undefined;
  #onCrash: ((error: VmCrashedError) => void) | undefined;

  constructor(parts: SessionParts) {
    this.host = parts.host;
    this.record = parts.record;
    this.qmp = parts.qmp;
    this.pool = parts.pool;
    this.ownsPool = parts.ownsPool;
    this.console = parts.console;
    this.agent = parts.agent;
    this.crashed = new Promise((resolve) => {
      this.#onCrash = resolve;
    });
    void this.qmp.closed.then((info) => {
      if (this.stopping) return;
      this.#crash = new VmCrashedError({
        vm: this.record.name,
        operation: "a call",
        cause: info.error,
      });
      this.#onCrash?.(this.#crash);
    });
  }

  get isCrashed(): boolean {
    return this.#crash !== undefined;
  }

  /** The channel commands run on: the agent when it is the control, else the console. */
  get channel(): ControlChannel | undefined {
    return this.record.control === "agent" ? this.agent : this.console;
  }

  /**
   * `work`, or a rejection with `ERR_VM_CRASHED` as soon as QEMU goes away
   * (whatever `work` was waiting for will never come).
   */
  guard<T>(operation: string, work: Promise<T>): Promise<T> {
    if (this.#crash) {
      work.catch(() => {});
      return Promise.reject(
        new VmCrashedError({ vm: this.record.name, operation, cause: this.#crash }),
      );
    }
    const checked = work.catch(async (error: unknown) => {
      // The console or agent socket may close a moment before the monitor's: ask the host.
      if (!this.stopping && ClosedError.isInstance(error) && !(await this.#alive()))
        throw new VmCrashedError({ vm: this.record.name, operation, cause: error });
      throw error;
    });
    return Promise.race([
      checked,
      this.crashed.then((crash) => {
        checked.catch(() => {});
        throw new VmCrashedError({ vm: this.record.name, operation, cause: crash.cause });
      }),
    ]);
  }

  async #alive(): Promise<boolean> {
    const startTime = BigInt(this.record.startTime);
    return this.host.isAlive(this.record.pid, { startTime, timeoutMs: 10_000 }).catch(() => true);
  }

  /**
   * Closes the connections gracefully (the console logs out first, each close
   * bounded by its own deadline), leaving QEMU running.
   */
  async detach(): Promise<void> {
    const closing: Promise<unknown>[] = [this.qmp.close()];
    if (this.console) closing.push(this.console.close());
    if (this.agent) closing.push(this.agent.close());
    await Promise.allSettled(closing);
    this.destroy();
  }

  /** Drops every connection at once. */
  destroy(): void {
    this.console?.destroy();
    this.agent?.destroy();
    this.qmp.destroy();
  }
}
