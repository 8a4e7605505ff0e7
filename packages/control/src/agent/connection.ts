import { randomInt } from "node:crypto";
import type { Duplex } from "node:stream";
import {
  armDeadline,
  type CallOptions,
  type CloseInfo,
  debugLog,
  encodeQapiRequest,
  type LineTooLongError,
} from "@qemu-kvm/core";
import { AgentChannel } from "./channel.js";
import { GuestAgentClosedError, GuestAgentProtocolError } from "./errors.js";
import type { AgentSettings } from "./options.js";
import { type Reply, unwrap } from "./wire.js";

const debug = debugLog("control");

/** No reply after this long: check with a sync whether the request was lost. */
const PROBE_AFTER_MS = 2_000;
/** Ids of abandoned requests remembered (their late replies are dropped quietly). */
const MAX_ABANDONED = 256;

interface Job {
  command: string;
  line: string;
  id: number;
  /** False for commands that answer only on failure (guest-shutdown). */
  expectsReply: boolean;
  state: "queued" | "active" | "settled";
  resolve(value: unknown): void;
  reject(error: unknown): void;
  disarm(): void;
  /** Set while active: the reply (or error reply) for this job arrived. */
  onReply?: (message: Reply) => void;
  /** Set while active: the caller gave up, with this error. */
  onAbandon?: (error: unknown) => void;
}

/**
 * The agent's requests and replies over an `AgentChannel`: requests go out one at a
 * time in call order (qemu-ga works serially and echoes ids); a reply is taken
 * only with its request's id; before the next request, the connection
 * synchronizes (0xFF + `guest-sync-delimited`) after a timeout, an abort, a
 * line that answers nothing it asked, or a reply longer than `maxReplyBytes`.
 */
export class AgentConnection {
  readonly #channel: AgentChannel;
  readonly #settings: AgentSettings;
  readonly #queue: Job[] = [];
  #working = false;
  #active: Job | undefined;
  /** Before the next command: flush and synchronize (at start, after a timeout or stray data). */
  #needSync = true;
  /** Ids of requests given up: their late replies are dropped quietly. */
  readonly #abandoned = new Set<number>();
  /** A reply that matched nothing arrived while a command was active. */
  #strayWhileActive: (() => void) | undefined;
  #nextId = randomInt(1, 2 ** 31);
  #connecting = false;
  #resyncing = false;
  #onIdle: (() => void) | undefined;

  constructor(stream: Duplex, settings: AgentSettings) {
    this.#settings = settings;
    this.#channel = new AgentChannel(stream, settings.maxReplyBytes, {
      message: (message, syncing) => this.#onMessage(message, syncing),
      overflow: (error) => this.#onOverflow(error),
      ended: (info) => this.#ended(info),
    });
  }

  get closed(): Promise<CloseInfo> {
    return this.#channel.session.closed;
  }

  get closeInfo(): CloseInfo | undefined {
    return this.#channel.session.closeInfo;
  }

  /** True from the start of `close()` (or the end) on: no new request is taken. */
  get isClosing(): boolean {
    return this.#channel.session.isClosing;
  }

  #onMessage(message: Reply | undefined, syncing: boolean): void {
    const job = this.#active;
    if (message && job && message.id === job.id) {
      job.onReply?.(message);
      return;
    }
    if (message && typeof message.id === "number" && this.#abandoned.delete(message.id)) {
      debug("qga: late reply to an abandoned request dropped");
      return;
    }
    // Not an answer to anything we asked: an error for garbage someone wrote, a
    // stale reply from before we connected… Synchronize before trusting the stream.
    if (!syncing) {
      this.#needSync = true;
      this.#strayWhileActive?.();
    }
  }

  /**
   * A reply grew past `maxReplyBytes`: the request waiting for it fails with
   * `ERR_QGA_PROTOCOL` and the connection resynchronizes at once (the rest of
   * the line is dropped as it comes); if that fails, it closes.
   */
  #onOverflow(error: LineTooLongError): void {
    const failure = new GuestAgentProtocolError(
      `a reply from the agent grew past maxReplyBytes (${error.maxLineBytes} bytes) without a newline`,
      { received: error.start, cause: error },
    );
    debug("qga: %s", failure.message);
    this.#needSync = true;
    const job = this.#active;
    if (job?.state === "active") this.#giveUp(job, failure);
    // Not from inside the data handler: the resync writes.
    if (!this.#connecting) queueMicrotask(() => this.#resync(failure));
  }

  #resync(reason: GuestAgentProtocolError): void {
    if (this.#resyncing || this.isClosing) return;
    this.#resyncing = true;
    const options = { timeoutMs: this.#settings.commandTimeoutMs };
    this.request("guest-ping", undefined, options, true)
      .then(
        () => debug("qga: back in step after an over-long reply"),
        (error: unknown) => {
          if (GuestAgentClosedError.isInstance(error)) return;
          this.destroy(
            new GuestAgentProtocolError(
              `could not get back in step with the agent after an over-long reply: ${(error as Error).message}`,
              { received: reason.received, cause: error },
            ),
          );
        },
      )
      .finally(() => {
        this.#resyncing = false;
      });
  }

  /** The first sync (see `AgentChannel.connect`); an over-long reply meanwhile starts no resync. */
  async connect(signal: AbortSignal): Promise<void> {
    this.#connecting = true;
    try {
      await this.#channel.connect(signal, this.#settings.syncIntervalMs);
      this.#needSync = false;
    } finally {
      this.#connecting = false;
    }
  }

  /** `AgentChannel.synchronize`; in step afterwards. */
  async #synchronize(signal: AbortSignal): Promise<void> {
    await this.#channel.synchronize(signal);
    this.#needSync = false;
  }

  /** Synchronize before the next command (`sync()`). */
  requireSync(): void {
    this.#needSync = true;
  }

  /**
   * Queues `command` and resolves with its `return` value (`expectsReply`
   * false: once the agent took it). `options` must be checked already.
   */
  request(
    command: string,
    args: Record<string, unknown> | undefined,
    options: CallOptions,
    expectsReply: boolean,
  ): Promise<unknown> {
    if (this.isClosing)
      return Promise.reject(
        new GuestAgentClosedError({ operation: command, cause: this.closeInfo?.error }),
      );
    const id = this.#nextId++;
    const line = encodeQapiRequest(command, args, id);
    return new Promise((resolve, reject) => {
      const settle = (done: () => void) => {
        if (job.state === "settled") return;
        job.state = "settled";
        job.disarm();
        done();
      };
      const job: Job = {
        command,
        line,
        id,
        expectsReply,
        state: "queued",
        resolve: (value) => settle(() => resolve(value)),
        reject: (error) => settle(() => reject(error)),
        disarm: () => {},
      };
      const timeoutMs = options.timeoutMs ?? this.#settings.commandTimeoutMs;
      job.disarm = armDeadline(`guest agent ${command}`, options.signal, timeoutMs, (error) => {
        if (job.state === "active") this.#giveUp(job, error);
        else job.reject(error);
      });
      if (job.state === "settled") return; // stopped before it started: nothing is sent
      this.#queue.push(job);
      void this.#work();
    });
  }

  /** The active `job` fails with `error`; its reply, if it still comes, is dropped. */
  #giveUp(job: Job, error: unknown): void {
    this.#abandoned.add(job.id);
    if (this.#abandoned.size > MAX_ABANDONED) {
      const oldest = this.#abandoned.values().next().value;
      if (oldest !== undefined) this.#abandoned.delete(oldest);
    }
    this.#needSync = true;
    job.onAbandon?.(error);
    job.reject(error);
  }

  /** The worker: one command on the wire at a time, in order. */
  async #work(): Promise<void> {
    if (this.#working) return;
    this.#working = true;
    try {
      for (;;) {
        const job = this.#queue.shift();
        if (!job) break;
        if (job.state !== "queued") continue;
        job.state = "active";
        this.#active = job;
        try {
          job.resolve(await this.#exchange(job));
        } catch (error) {
          job.reject(error);
        } finally {
          this.#active = undefined;
          job.onReply = undefined;
          job.onAbandon = undefined;
        }
        if (this.#channel.session.isClosed) break;
      }
    } finally {
      this.#working = false;
      if (this.#queue.length === 0) this.#idle();
      else if (!this.#channel.session.isClosed) void this.#work();
    }
  }

  /** Sends `job` (after a sync if one is due) and waits for its answer. */
  async #exchange(job: Job): Promise<unknown> {
    const abandoned = new AbortController();
    job.onAbandon = (error) => abandoned.abort(error);
    const signal = abandoned.signal;
    if (this.#needSync) await this.#synchronize(signal);
    for (let attempt = 1; ; attempt++) {
      let reply: Reply | undefined;
      const replied = new Promise<void>((resolve) => {
        job.onReply = (message) => {
          reply = message;
          resolve();
        };
      });
      const stray = new Promise<void>((resolve) => {
        this.#strayWhileActive = resolve;
      });
      let probe: NodeJS.Timeout | undefined;
      try {
        await this.#channel.write(job.line, () => JSON.parse(job.line));
        if (!job.expectsReply) {
          // Success sends nothing: the agent taking the next request without an error
          // report in between is the success. The channel closing counts too.
          const synced = this.#synchronize(signal);
          synced.catch(() => {}); // if the error reply wins, the sync goes on unobserved
          await Promise.race([synced, replied]);
          return reply ? unwrap(job.command, reply) : undefined;
        }
        const quiet = new Promise<"quiet">((resolve) => {
          probe = setTimeout(() => resolve("quiet"), PROBE_AFTER_MS);
        });
        const first = await this.#channel.until(
          Promise.race([
            replied.then(() => "reply" as const),
            stray.then(() => "stray" as const),
            quiet,
          ]),
          signal,
          job.command,
        );
        if (reply) return unwrap(job.command, reply);
        debug(
          "qga: %s: %s, checking with a sync",
          job.command,
          first === "quiet" ? "no reply yet" : "stray data",
        );
        // Something else answered, or nothing did for a while: garbage ahead of our
        // request may have swallowed it (an unclosed `{` makes the agent wait for
        // more). A 0xFF and a sync tell, since the agent answers in order: a busy
        // agent answers us first; a lost request has no answer before the sync's.
        await this.#synchronize(signal);
        if (reply) return unwrap(job.command, reply);
        if (attempt >= 2)
          throw new GuestAgentProtocolError(
            `${job.command} was lost twice before the agent read it (garbage on the channel ahead of it): is the channel shared?`,
          );
        debug("qga: %s was lost (no reply before the sync): sending it again", job.command);
      } finally {
        clearTimeout(probe);
        this.#strayWhileActive = undefined;
      }
    }
  }

  #idle(): void {
    const idle = this.#onIdle;
    this.#onIdle = undefined;
    idle?.();
  }

  /** Graceful: lets queued requests finish, then closes the stream. */
  close(): Promise<void> {
    return this.#channel.session.close(() => {
      if (!this.#working && this.#queue.length === 0) return;
      return new Promise<void>((resolve) => {
        this.#onIdle = resolve;
      });
    });
  }

  destroy(reason?: Error): void {
    this.#channel.session.destroy(reason);
  }

  #ended(info: CloseInfo): void {
    for (const job of this.#queue.splice(0))
      job.reject(new GuestAgentClosedError({ operation: job.command, cause: info.error }));
    this.#idle();
  }
}
