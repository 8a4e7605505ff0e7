/** The pool client's anchor on the host: the current one, and a new one when it dies. */
import { debugLog } from "@qemu-kvm/core";
import type { Host } from "@qemu-kvm/host";
import { Anchor, type AnchorSettings } from "../anchor/anchor.js";
import { ANCHOR_RETRIES } from "../transactions/runner.js";

const debug = debugLog("pool");

export interface AnchorHooks {
  /** Aborts when the pool is closed or destroyed: an anchor starting then is stopped. */
  readonly lifetime: AbortSignal;
  /** The pool is closing or closed: a dead anchor is not replaced on its own. */
  ending(): boolean;
  /** The current anchor died while the pool is open: its owners are to be taken back. */
  lost(): void;
}

export class AnchorKeeper {
  readonly #host: Host;
  readonly #settings: AnchorSettings;
  readonly #hooks: AnchorHooks;
  #anchor: Anchor;
  #starting: Promise<Anchor> | undefined;
  /** Anchors that died in a row without a transaction committing in between. */
  #restarts = 0;

  constructor(host: Host, settings: AnchorSettings, first: Anchor, hooks: AnchorHooks) {
    this.#host = host;
    this.#settings = settings;
    this.#hooks = hooks;
    this.#anchor = first;
    this.#watch(first);
  }

  get current(): Anchor {
    return this.#anchor;
  }

  /** A transaction committed: the anchor works. */
  committed(): void {
    this.#restarts = 0;
  }

  /** The live anchor, starting a new one if the last died. */
  live(): Promise<Anchor> {
    if (this.#anchor.alive) return Promise.resolve(this.#anchor);
    if (this.#hooks.lifetime.aborted) return Promise.reject(this.#hooks.lifetime.reason);
    this.#starting ??= this.#start().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #start(): Promise<Anchor> {
    const { lifetime } = this.#hooks;
    const anchor = await Anchor.start(this.#host, this.#settings, lifetime);
    // destroy() may have run after start() stopped listening for the abort.
    if (lifetime.aborted) {
      anchor.kill();
      await anchor.exited;
      throw lifetime.reason;
    }
    if (anchor.info.dir !== this.#anchor.info.dir)
      debug("%s: the state directory changed to %s", this.#host.name, anchor.info.dir);
    this.#anchor = anchor;
    this.#watch(anchor);
    return anchor;
  }

  /** When the current anchor dies while the pool is open, a new one takes its owners back (if nobody reclaimed them yet). */
  #watch(anchor: Anchor): void {
    void anchor.exited.then((error) => {
      if (this.#hooks.ending() || anchor !== this.#anchor) return;
      debug("%s: anchor %d is gone (%s)", this.#host.name, anchor.info.pid, error.message);
      if (this.#restarts >= ANCHOR_RETRIES) return;
      this.#restarts++;
      this.#hooks.lost();
    });
  }
}
