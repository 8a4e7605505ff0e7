/** What `start` tells its caller while it works: the phase, and how long since the start. */

/** The phases of a start, in order (a retry goes through them again). */
export type StartPhase =
  | "leases"
  | "runtime-dir"
  | "boot-files"
  | "launch"
  | "qmp"
  | "console"
  | "boot"
  | "login"
  | "agent"
  | "network"
  | "pci-map"
  | "ready"
  | "retry";

export interface StartProgress {
  readonly vm: string;
  readonly phase: StartPhase;
  /** Milliseconds since `start()` was called. */
  readonly elapsedMs: number;
  /** 1 for the first boot, 2 for the retry. */
  readonly attempt: number;
  /** A few words on what happens, for people (`port 6001 was taken: leasing another`). */
  readonly detail?: string;
}

/** The timeline of a start: each phase and when it began, for the demo and benchmarks. */
export class Timeline {
  readonly #vm: string;
  readonly #started = performance.now();
  readonly #listener: ((progress: StartProgress) => void) | undefined;
  readonly entries: StartProgress[] = [];
  attempt = 1;

  constructor(vm: string, listener: ((progress: StartProgress) => void) | undefined) {
    this.#vm = vm;
    this.#listener = listener;
  }

  get elapsedMs(): number {
    return performance.now() - this.#started;
  }

  /** Records a phase and tells the listener (whose exceptions are not ours to handle: they propagate). */
  phase(phase: StartPhase, detail?: string): void {
    const entry: StartProgress = {
      vm: this.#vm,
      phase,
      elapsedMs: this.elapsedMs,
      attempt: this.attempt,
      ...(detail !== undefined ? { detail } : {}),
    };
    this.entries.push(entry);
    this.#listener?.(entry);
  }
}
