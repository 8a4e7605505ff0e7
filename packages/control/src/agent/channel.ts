import { randomInt } from "node:crypto";
import type { Duplex } from "node:stream";
import {
  type CloseInfo,
  debugLog,
  type LineTooLongError,
  preview,
  StreamSession,
} from "@qemu-kvm/core";
import { GuestAgentClosedError } from "./errors.js";
import { AgentFraming, DELIMITER } from "./framing.js";
import { debugView, parseReply, type Reply } from "./wire.js";

const debug = debugLog("control");

interface SyncState {
  id: number;
  /** A 0xFF came after the request was written: the next line may be the answer. */
  delimiterSeen: boolean;
  done(): void;
}

export interface AgentChannelHandlers {
  /**
   * A line that is not the answer to the pending sync: a reply (parsed), or
   * undefined for a line that is not a JSON object. `syncing`: a sync is
   * pending (what comes before its answer is stale).
   */
  message(message: Reply | undefined, syncing: boolean): void;
  /** A reply grew past `maxReplyBytes` (see `AgentFraming`). */
  overflow(error: LineTooLongError): void;
  /** The stream ended: reject what is pending. */
  ended(info: CloseInfo): void;
}

/**
 * The agent's byte stream under a `StreamSession`: its framing, writes, and
 * `guest-sync-delimited`, the agent protocol's way back into step.
 */
export class AgentChannel {
  readonly session: StreamSession;
  readonly #framing: AgentFraming;
  readonly #handlers: AgentChannelHandlers;
  #sync: SyncState | undefined;
  readonly #closeListeners = new Set<(info: CloseInfo) => void>();

  constructor(stream: Duplex, maxReplyBytes: number, handlers: AgentChannelHandlers) {
    this.#handlers = handlers;
    this.#framing = new AgentFraming(maxReplyBytes, {
      line: (line) => this.#onLine(line),
      delimiter: () => {
        if (this.#sync) this.#sync.delimiterSeen = true;
      },
      overflow: (error) => handlers.overflow(error),
    });
    this.session = new StreamSession(
      stream,
      {
        data: (chunk) => this.#framing.push(chunk),
        ended: (info) => {
          for (const listener of [...this.#closeListeners]) listener(info);
          this.#closeListeners.clear();
          handlers.ended(info);
        },
      },
      { label: "qga", debug },
    );
  }

  #onLine(line: string): void {
    const message = parseReply(line);
    if (debug.enabled) debug("qga <- %s", message ? debugView(message) : preview(line, 200));
    const sync = this.#sync;
    if (message && sync?.delimiterSeen && message.id === undefined && "return" in message) {
      if (message.return === sync.id) {
        this.#sync = undefined;
        sync.done();
      }
      // An older sync's answer (we sent it again since): not ours any more.
      return;
    }
    this.#handlers.message(message, sync !== undefined);
  }

  /** Writes `data`; `what` is the message for the debug log (made only when it is on). */
  write(data: string | Buffer, what: () => unknown): Promise<void> {
    const session = this.session;
    if (session.isClosed || session.stream.destroyed)
      return Promise.reject(new GuestAgentClosedError({ cause: session.closeInfo?.error }));
    if (debug.enabled) debug("qga -> %s", debugView(what()));
    return new Promise((resolve, reject) => {
      session.stream.write(data, (error) => {
        if (error) reject(new GuestAgentClosedError({ cause: error }));
        else resolve();
      });
    });
  }

  /**
   * 0xFF (the agent drops whatever it had half read) then `guest-sync-delimited`
   * with a random id; resolves when the answer with that id follows a 0xFF.
   * Everything before it is stale and dropped (except the active command's
   * own reply). With `resendMs`, sends a fresh sync if none came back in time.
   */
  async synchronize(signal: AbortSignal, resendMs?: number): Promise<void> {
    for (;;) {
      const id = randomInt(1, 2 ** 48);
      const answered = new Promise<void>((resolve) => {
        this.#sync = { id, delimiterSeen: false, done: resolve };
      });
      const request = { execute: "guest-sync-delimited", arguments: { id } };
      const line = Buffer.from(`${JSON.stringify(request)}\n`);
      await this.write(Buffer.concat([Buffer.from([DELIMITER]), line]), () => request);
      let resend: NodeJS.Timeout | undefined;
      try {
        const outcomes: Array<Promise<"answered" | "resend">> = [
          answered.then(() => "answered" as const),
        ];
        if (resendMs !== undefined)
          outcomes.push(
            new Promise((resolve) => {
              // Without keeping the process alive.
              resend = setTimeout(() => resolve("resend"), resendMs).unref();
            }),
          );
        const outcome = await this.until(Promise.race(outcomes), signal, "guest-sync-delimited");
        if (outcome === "answered") {
          debug("qga: in sync (id %d)", id);
          return;
        }
      } finally {
        clearTimeout(resend);
      }
      debug("qga: no answer to sync %d yet, sending another", id);
    }
  }

  /** `promise`, or a rejection when `signal` aborts or the channel closes first. Leaves no listener behind. */
  until<T>(promise: Promise<T>, signal: AbortSignal, operation: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const cleanup = () => {
        signal.removeEventListener("abort", onAbort);
        this.#closeListeners.delete(onClose);
      };
      const onAbort = () => {
        cleanup();
        reject(signal.reason);
      };
      const onClose = (info: CloseInfo) => {
        cleanup();
        reject(new GuestAgentClosedError({ operation, cause: info.error }));
      };
      const closed = this.session.closeInfo;
      if (signal.aborted || closed) {
        reject(
          signal.aborted
            ? signal.reason
            : new GuestAgentClosedError({ operation, cause: closed?.error }),
        );
        return;
      }
      signal.addEventListener("abort", onAbort, { once: true });
      this.#closeListeners.add(onClose);
      promise.then(
        (value) => {
          cleanup();
          resolve(value);
        },
        (error: unknown) => {
          cleanup();
          reject(error);
        },
      );
    });
  }

  /** The first sync: the agent may not run yet, so the request is sent again every `resendMs`. */
  connect(signal: AbortSignal, resendMs: number): Promise<void> {
    return this.synchronize(signal, resendMs);
  }
}
