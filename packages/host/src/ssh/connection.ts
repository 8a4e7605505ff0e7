import type { Duplex } from "node:stream";
import type ssh2 from "ssh2";
import type { ClientChannel, SFTPWrapper } from "ssh2";
import { HostConnectionLostError } from "../errors/host-errors.js";
import { debug } from "../shared/observe.js";
import { settlesWithin } from "../shared/process-base.js";
import { isRefusal, MIN_SESSIONS, SessionRefusedError, SessionSlots } from "./session-slots.js";
import type { ResolvedSshOptions } from "./ssh-options.js";
import { Supervisor } from "./supervisor.js";

type SshClient = InstanceType<typeof ssh2.Client>;

/**
 * Refusals in a row for one session, each answered by the server, before the
 * refusal is taken as final (a server that refuses for another reason than
 * its session limit).
 */
const MAX_REFUSALS = 20;

/** How long a call refused with "Not connected" waits for the connection to report its close. */
const NOT_CONNECTED_WAIT_MS = 5000;

/** ssh2's refusal of a request on a client whose socket is no longer writable. */
function isNotConnected(error: unknown): boolean {
  return error instanceof Error && error.message === "Not connected";
}

/** How a session channel is opened: ssh2's call, with its callback. */
type OpenChannel<T> = (callback: (error: Error | undefined, channel: T) => void) => void;

/**
 * One SSH connection: the ssh2 client, its session accounting, its supervisor
 * and its SFTP session. Made by `connectSsh` (connect.ts).
 */
export class SshConnection {
  readonly slots: SessionSlots;
  readonly supervisor: Supervisor;
  #lost: HostConnectionLostError | undefined;
  #ending = false;
  #lastError: Error | undefined;
  readonly #onLost = new Set<(error: HostConnectionLostError) => void>();
  #sftp: Promise<SFTPWrapper> | undefined;
  readonly #facts = new Map<string, unknown>();
  /** Session channels open (the server confirmed them), the most at once, and how many closed so far. */
  #openChannels = 0;
  #peakChannels = 0;
  #closedChannels = 0;
  #othersAtRefusal = 0;
  readonly closed: Promise<void>;

  constructor(
    readonly client: SshClient,
    readonly options: ResolvedSshOptions,
    /** The server's host key, `SHA256:…`. */
    readonly fingerprint: string,
    /** The stream the connection runs over, when it was given one (`sock`): ended with it. */
    readonly sock?: Duplex,
  ) {
    this.slots = new SessionSlots(options.maxSessions);
    this.supervisor = new Supervisor(this);
    client.on("error", (error: Error) => {
      this.#lastError = error;
    });
    this.closed = new Promise((resolve) => {
      client.once("close", () => {
        this.#onClose();
        resolve();
      });
    });
  }

  #onClose(): void {
    const why = this.#ending
      ? "was closed"
      : `was lost${this.#lastError ? `: ${this.#lastError.message}` : ""}`;
    this.#lost = new HostConnectionLostError({
      message: `the connection to ${this.name} ${why}`,
      host: this.name,
      cause: this.#lastError,
    });
    debug("ssh %s: connection closed%s", this.name, this.#ending ? "" : " (lost)");
    this.sock?.destroy();
    this.slots.grantAll();
    for (const handler of this.#onLost) handler(this.#lost);
    this.#onLost.clear();
  }

  get name(): string {
    return this.options.name;
  }

  /**
   * A fact of the host that holds for the connection (its architecture, our
   * uid): `ask` the first time, the value kept once it succeeded.
   */
  async fact<T>(key: string, ask: () => Promise<T>): Promise<T> {
    if (this.#facts.has(key)) return this.#facts.get(key) as T;
    const value = await ask();
    this.#facts.set(key, value);
    return value;
  }

  /** Set once the connection is gone (lost, or closed by us). */
  get lostError(): HostConnectionLostError | undefined {
    return this.#lost;
  }

  /** Calls `handler` when the connection goes away (at once if it is gone); returns an unsubscribe. */
  onLost(handler: (error: HostConnectionLostError) => void): () => void {
    if (this.#lost) {
      const error = this.#lost;
      queueMicrotask(() => handler(error));
      return () => {};
    }
    this.#onLost.add(handler);
    return () => this.#onLost.delete(handler);
  }

  /** Settles like `promise`, or rejects with `ERR_HOST_CONNECTION_LOST` if the connection goes first. */
  guard<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const unsubscribe = this.onLost(reject);
      promise.then(
        (value) => {
          unsubscribe();
          resolve(value);
        },
        (error: unknown) => {
          unsubscribe();
          if (this.#lost || !isNotConnected(error)) {
            reject(this.#lost ?? error);
            return;
          }
          // ssh2 refuses at once when its socket is gone, a moment before the
          // connection reports its close: that is a lost connection too.
          void settlesWithin(this.closed, NOT_CONNECTED_WAIT_MS).then(() =>
            reject(this.#lost ?? error),
          );
        },
      );
    });
  }

  /**
   * Opens a session channel within the session limit (`reserved`: one of the
   * host's own, the supervisor or SFTP). A refusal while other sessions are
   * open teaches the limit and waits for a free session; rejects with
   * `SessionRefusedError` when the server refuses otherwise, or allows fewer
   * than three sessions.
   */
  async openSession<T extends ClientChannel | SFTPWrapper>(
    kind: string,
    open: OpenChannel<T>,
    options: {
      signal?: AbortSignal;
      reserved?: boolean;
      /**
       * Called with the channel inside ssh2's callback: ssh2 may emit the channel's
       * events (`exit`!) in the same tick, before a promise continuation runs.
       */
      onChannel?: (channel: T) => void;
    } = {},
  ): Promise<T> {
    for (let refusals = 0; ; refusals++) {
      this.#checkUsable();
      const release = await this.slots.acquire(options.reserved === true, options.signal);
      let limit: number;
      try {
        this.#checkUsable();
        const channel = await this.#tryOpen(kind, open, release, options.onChannel);
        if (channel) return channel;
        limit = this.#refusedLimit();
        if (limit < MIN_SESSIONS) {
          // Maybe the server had not yet freed a session of ours that just closed:
          // ask once more (the refusal paces it), before concluding.
          const again = await this.#tryOpen(kind, open, release, options.onChannel);
          if (again) return again;
          limit = this.#refusedLimit();
        }
      } catch (error) {
        release();
        throw error;
      }
      release();
      this.#learnLimit(limit);
      if (refusals >= MAX_REFUSALS)
        throw new SessionRefusedError(
          `${this.name} refused a ${kind} session ${refusals + 1} times in a row`,
        );
    }
  }

  /**
   * One channel open request: the channel, or `undefined` when the server
   * refused one more session while others were open (see `#refusedLimit`).
   * Throws on a lost connection and on any other failure.
   */
  async #tryOpen<T extends ClientChannel | SFTPWrapper>(
    kind: string,
    open: OpenChannel<T>,
    release: () => void,
    onChannel: ((channel: T) => void) | undefined,
  ): Promise<T | undefined> {
    const closedBefore = this.#closedChannels;
    try {
      return await this.guard(this.#openChannel(open, release, onChannel));
    } catch (error) {
      if (this.#lost) throw this.#lost;
      // What the server had open when it answered, as far as we can tell: every
      // channel open now (their confirmations came first) and those closed since.
      this.#othersAtRefusal = this.#openChannels + (this.#closedChannels - closedBefore);
      if (isRefusal(error) && this.#othersAtRefusal > 0) return undefined;
      throw new SessionRefusedError(
        `${this.name} refused a ${kind} session: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  /**
   * The server's limit, from its last refusal: the sessions it had open then,
   * or more if we have seen more open at once (the server frees a closed
   * session lazily, so a refusal may come with fewer of ours open).
   */
  #refusedLimit(): number {
    return Math.max(this.#othersAtRefusal, this.#peakChannels);
  }

  #openChannel<T extends ClientChannel | SFTPWrapper>(
    open: OpenChannel<T>,
    release: () => void,
    onChannel: ((channel: T) => void) | undefined,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      open((error, opened) => {
        if (error) {
          reject(error);
          return;
        }
        this.#openChannels++;
        this.#peakChannels = Math.max(this.#peakChannels, this.#openChannels);
        opened.once("close", () => {
          this.#openChannels--;
          this.#closedChannels++;
          release();
        });
        onChannel?.(opened);
        resolve(opened);
      });
    });
  }

  /** Throws when no session can be opened: the connection is gone, or the server allows too few. */
  #checkUsable(): void {
    if (this.#lost) throw this.#lost;
    if (this.slots.limit < MIN_SESSIONS)
      throw new SessionRefusedError(
        `${this.name} allows only ${this.slots.limit} session channels per connection (MaxSessions); at least ${MIN_SESSIONS} are needed`,
      );
  }

  /** Lowers the session limit to what the server refused at. */
  #learnLimit(limit: number): void {
    if (limit >= this.slots.limit) return;
    debug("ssh %s: the server refused session %d: limit now %d", this.name, limit + 1, limit);
    this.slots.lower(limit);
    // Too few for a command ever to run: every caller waiting fails now.
    if (this.slots.limit < MIN_SESSIONS) this.slots.grantAll();
    this.#checkUsable();
  }

  /**
   * The connection's SFTP session, opened on first use and shared. It opens
   * with no deadline of its own: each caller races its own (a caller that gives
   * up does not fail the others waiting for a session).
   */
  sftp(): Promise<SFTPWrapper> {
    if (!this.#sftp) {
      const opening = this.openSession<SFTPWrapper>(
        "sftp",
        (callback) => this.client.sftp(callback),
        {
          reserved: true,
        },
      ).then((channel) => {
        channel.on("error", (error: Error) => debug("ssh %s: sftp: %s", this.name, error.message));
        channel.once("close", () => {
          if (this.#sftp === opening) this.#sftp = undefined;
        });
        return channel;
      });
      this.#sftp = opening;
      opening.catch(() => {
        if (this.#sftp === opening) this.#sftp = undefined;
      });
    }
    return this.guard(this.#sftp);
  }

  forwardUnix(path: string): Promise<ClientChannel> {
    return this.guard(
      new Promise((resolve, reject) => {
        this.client.openssh_forwardOutStreamLocal(path, (error, channel) =>
          error ? reject(error) : resolve(channel),
        );
      }),
    );
  }

  forwardTcp(host: string, port: number): Promise<ClientChannel> {
    return this.guard(
      new Promise((resolve, reject) => {
        this.client.forwardOut("127.0.0.1", 0, host, port, (error, channel) =>
          error ? reject(error) : resolve(channel),
        );
      }),
    );
  }

  /** Graceful: the supervisor gets EOF, then the connection ends. */
  async end(): Promise<void> {
    if (this.#lost) return;
    this.#ending = true;
    this.supervisor.end();
    this.client.end();
    await this.closed;
  }

  destroy(): void {
    this.#ending = true;
    this.client.destroy();
    this.sock?.destroy();
  }
}
