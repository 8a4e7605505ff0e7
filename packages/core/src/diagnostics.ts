import { type Channel, channel } from "node:diagnostics_channel";
import type { DebugSection } from "./debug.js";

/**
 * What the operation channels publish: one message when an operation starts
 * and one when it ends (`end` or `error`), sharing an `id`. Subscribe with
 * `diagnostics_channel.subscribe("qemu-kvm:host", listener)` (as undici offers
 * `undici:request:create`…): for tracing, metrics, or a session log.
 */
export interface OperationMessage {
  /** The package: `host`, `monitor`, `control`, `pool`… */
  readonly source: DebugSection;
  /** `exec`, `connect`, `qmp`, `run`, `lease`… */
  readonly operation: string;
  readonly phase: "start" | "end" | "error";
  /** The same for the start and the end of one operation, unique within the process. */
  readonly id: number;
  /** What the operation works on: the host, the command name, the owner… */
  readonly target?: string;
  /** From the start (on `end` and `error`). */
  readonly durationMs?: number;
  /** On `error`. */
  readonly error?: unknown;
}

let nextId = 1;

/** The operation channel of one package: `qemu-kvm:<source>`. */
export class OperationChannel {
  readonly source: DebugSection;
  readonly channel: Channel;

  constructor(source: DebugSection) {
    this.source = source;
    this.channel = channel(`qemu-kvm:${source}`);
  }

  /**
   * Runs `work`, publishing its start and end when someone listens (and
   * costing one check when nobody does).
   */
  trace<T>(operation: string, target: string | undefined, work: () => Promise<T>): Promise<T> {
    if (!this.channel.hasSubscribers) return work();
    const id = nextId++;
    const started = performance.now();
    const base = {
      source: this.source,
      operation,
      id,
      ...(target === undefined ? {} : { target }),
    };
    this.channel.publish({ ...base, phase: "start" } satisfies OperationMessage);
    let promise: Promise<T>;
    try {
      promise = work();
    } catch (error) {
      promise = Promise.reject(error);
    }
    return promise.then(
      (value) => {
        const durationMs = performance.now() - started;
        this.channel.publish({ ...base, phase: "end", durationMs } satisfies OperationMessage);
        return value;
      },
      (error: unknown) => {
        const durationMs = performance.now() - started;
        this.channel.publish({
          ...base,
          phase: "error",
          durationMs,
          error,
        } satisfies OperationMessage);
        throw error;
      },
    );
  }
}
