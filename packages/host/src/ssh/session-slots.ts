/**
 * The session channels of one SSH connection, counted against the server's
 * `MaxSessions`: two are reserved for the host's own sessions (the supervisor
 * and SFTP), commands share the rest, and beyond the limit callers wait in line.
 */

/** The host's own sessions (supervisor, SFTP): commands never take their slots. */
export const RESERVED_SESSIONS = 2;

/** The fewest sessions a server must allow: the two reserved and one command. */
export const MIN_SESSIONS = RESERVED_SESSIONS + 1;

/**
 * A session channel the server refused, or a server that allows too few
 * sessions. Internal: the host maps it to a coded error (`ERR_HOST_SPAWN` for a
 * command, `ERR_HOST_SYSTEM` for a file operation).
 */
export class SessionRefusedError extends Error {
  override name = "SessionRefusedError";
}

/**
 * Whether a channel open failure is the server refusing one more session.
 * OpenSSH answers a session past `MaxSessions` with reason 2 (connect failed,
 * "open failed"); other servers use 1 (administratively prohibited) or 4
 * (resource shortage). It counts as a refusal only while other sessions are
 * open (the caller checks).
 */
export function isRefusal(error: unknown): boolean {
  const reason = (error as { reason?: unknown } | undefined)?.reason;
  return reason === 1 || reason === 2 || reason === 4;
}

interface Waiter {
  readonly reserved: boolean;
  readonly grant: (release: () => void) => void;
}

/**
 * Counts session channels. A slot is handed over directly to the first waiter
 * that may use it, so no wake-up is lost. The limit starts at the configured
 * value and drops to what the server accepted when it refuses one.
 */
export class SessionSlots {
  #active = 0;
  /** Of `#active`, the commands' (not reserved) sessions. */
  #commands = 0;
  #limit: number;
  readonly #waiters: Waiter[] = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  get active(): number {
    return this.#active;
  }

  get limit(): number {
    return this.#limit;
  }

  /** Lowers the limit (never raises it); waiters keep waiting for a slot. */
  lower(limit: number): void {
    this.#limit = Math.min(this.#limit, limit);
  }

  #fits(reserved: boolean): boolean {
    if (this.#active >= this.#limit) return false;
    return reserved || this.#commands < this.#limit - RESERVED_SESSIONS;
  }

  /**
   * Resolves with the function that releases the slot, once one is free.
   * `reserved`: one of the host's own sessions. Rejects with `signal.reason`
   * if the signal aborts first.
   */
  acquire(reserved: boolean, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#fits(reserved)) return Promise.resolve(this.#take(reserved));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        reserved,
        grant: (release) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(release);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  #take(reserved: boolean): () => void {
    this.#active++;
    if (!reserved) this.#commands++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      if (!reserved) this.#commands--;
      this.#handOver();
    };
  }

  /** Gives free slots to the first waiters that may use them. */
  #handOver(): void {
    for (let index = 0; index < this.#waiters.length; ) {
      const waiter = this.#waiters[index]!;
      if (!this.#fits(waiter.reserved)) {
        index++;
        continue;
      }
      this.#waiters.splice(index, 1);
      waiter.grant(this.#take(waiter.reserved));
    }
  }

  /** Grants every waiter a slot at once (the connection is gone: they will fail on their own). */
  grantAll(): void {
    for (const waiter of this.#waiters.splice(0)) waiter.grant(this.#take(waiter.reserved));
  }
}
