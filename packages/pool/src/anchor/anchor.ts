/**
 * The client side of the anchor (see ./script.ts): starts it through
 * `host.spawn`, sends requests on its stdin, reads framed responses from its
 * stdout, and sends heartbeats.
 */
import { randomBytes } from "node:crypto";
import { finished } from "node:stream/promises";
import { StringDecoder } from "node:string_decoder";
import { debugLog } from "@qemu-kvm/core";
import type { Host, HostProcess, ProcessExit } from "@qemu-kvm/host";
import { PoolHostError } from "../errors.js";
import { AWK_PROGRAM } from "./awk.js";
import { anchorFailure } from "./failure.js";
import { type AnchorInfo, parseInfo } from "./info.js";
import { parseResponse, type Response } from "./response.js";
import { ANCHOR_SCRIPT } from "./script.js";

const debug = debugLog("pool");

export interface AnchorSettings {
  /** `undefined`: the default directory, resolved on the host. */
  stateDir: string | undefined;
  /** 0: no watchdog. */
  expirySeconds: number;
  periodSeconds: number;
  /** 0: wait for the lock without a bound. */
  lockWaitSeconds: number;
  /** Octal umask for the state and lock files, e.g. `177`. */
  umask: string;
  /** 0: no heartbeat. */
  heartbeatMs: number;
}

const STDERR_TAIL = 4000;
/**
 * The most a response may hold before its end line (the largest is a state
 * file: about 100 bytes a lease). An anchor that prints more is stopped.
 */
const MAX_RESPONSE_CHARS = 64 * 1024 * 1024;

interface Waiter {
  resolve(response: Response): void;
  reject(error: Error): void;
}

export class Anchor {
  readonly nonce = randomBytes(12).toString("hex");
  readonly process: HostProcess;
  /** Set once `start()` resolved. */
  info!: AnchorInfo;
  /** Settles (never rejects) when the anchor has exited; resolves the error that pending requests got. */
  readonly exited: Promise<PoolHostError>;
  #dead: PoolHostError | undefined;
  #buffer = "";
  #scanFrom = 0;
  readonly #decoder = new StringDecoder("utf8");
  readonly #waiters: Waiter[] = [];
  #stderr = "";
  #heartbeat: NodeJS.Timeout | undefined;
  #ending = false;

  private constructor(
    readonly host: Host,
    settings: AnchorSettings,
  ) {
    this.process = host.spawn("/bin/sh", [
      "-c",
      ANCHOR_SCRIPT,
      "qemu-kvm-pool",
      this.nonce,
      settings.stateDir ?? "",
      String(settings.expirySeconds),
      String(settings.periodSeconds),
      String(settings.lockWaitSeconds),
      settings.umask,
      AWK_PROGRAM,
    ]);
    this.process.stdin.on("error", (error) => debug("anchor stdin: %s", error.message));
    this.process.stdout.on("data", (chunk: Buffer) => this.#onData(chunk));
    this.process.stderr.on("data", (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString("utf8")).slice(-STDERR_TAIL);
    });
    // Output can arrive after the exit event: read it all before failing what waits.
    const drained = finished(this.process.stdout).catch(() => {});
    this.exited = this.process.exited.then(
      async (exit) => {
        await drained;
        return this.#onExit(exit, undefined);
      },
      async (error: unknown) => {
        await drained;
        return this.#onExit(undefined, error);
      },
    );
    if (settings.heartbeatMs > 0) {
      this.#heartbeat = setInterval(() => {
        if (!this.#dead && !this.#ending) this.process.stdin.write("\n");
      }, settings.heartbeatMs);
      this.#heartbeat.unref();
    }
  }

  /** Starts an anchor and waits for its `info`; stops it if that fails or `signal` aborts first. */
  static async start(host: Host, settings: AnchorSettings, signal: AbortSignal): Promise<Anchor> {
    signal.throwIfAborted();
    let anchor: Anchor;
    try {
      anchor = new Anchor(host, settings);
    } catch (error) {
      throw new PoolHostError(host.name, "spawn", "cannot start the pool's anchor on the host", {
        cause: error,
        committed: false,
      });
    }
    const onAbort = () => anchor.kill();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const response = await anchor.#next();
      if (response.status !== "ok") throw anchorFailure(host.name, response);
      const section = response.sections.find((entry) => entry.tag === "info");
      const info = section && parseInfo(section.body);
      if (!info)
        throw new PoolHostError(host.name, "protocol", "the anchor did not describe itself");
      anchor.info = info;
      debug(
        "pool %s: anchor %d started (state %s, fsync %s, bounded lock wait %s, watchdog %s)",
        host.name,
        info.pid,
        info.dir,
        info.durable,
        info.lockWait,
        info.watchdog,
      );
      return anchor;
    } catch (error) {
      anchor.kill();
      await anchor.exited;
      throw signal.aborted ? signal.reason : error;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  get alive(): boolean {
    return this.#dead === undefined;
  }

  /** Sends `text` (a request line, or a decision with its data) and resolves the next response. */
  request(text: string): Promise<Response> {
    if (this.#dead) return Promise.reject(this.#dead);
    const response = this.#next();
    this.process.stdin.write(text);
    return response;
  }

  #next(): Promise<Response> {
    if (this.#dead) return Promise.reject(this.#dead);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Graceful: closes stdin; the anchor exits (releasing the lock if it held it). */
  end(): void {
    this.#ending = true;
    clearInterval(this.#heartbeat);
    this.process.stdin.end();
  }

  /** Abrupt: SIGKILL. */
  kill(): void {
    this.#ending = true;
    clearInterval(this.#heartbeat);
    this.process.stdin.destroy();
    void this.process.kill("SIGKILL").catch(() => false);
  }

  #onData(chunk: Buffer): void {
    this.#buffer += this.#decoder.write(chunk);
    const marker = `\x1e${this.nonce} end `;
    for (;;) {
      const start = this.#buffer.indexOf(marker, this.#scanFrom);
      if (start < 0) {
        this.#scanFrom = Math.max(0, this.#buffer.length - marker.length);
        if (this.#buffer.length > MAX_RESPONSE_CHARS) this.#overflow();
        return;
      }
      const newline = this.#buffer.indexOf("\n", start);
      if (newline < 0) {
        this.#scanFrom = start;
        return;
      }
      const text = this.#buffer.slice(0, start);
      const endLine = this.#buffer.slice(start + marker.length, newline);
      this.#buffer = this.#buffer.slice(newline + 1);
      this.#scanFrom = 0;
      const waiter = this.#waiters.shift();
      if (!waiter) {
        debug("%s: unexpected anchor output: %s", this.host.name, endLine);
        continue;
      }
      waiter.resolve(parseResponse(text, this.nonce, endLine));
    }
  }

  /** The anchor printed more than any response holds: it is stopped, and what waits fails. */
  #overflow(): void {
    this.#buffer = "";
    this.#scanFrom = 0;
    this.#dead ??= new PoolHostError(
      this.host.name,
      "protocol",
      `the pool's anchor printed more than ${MAX_RESPONSE_CHARS} characters without ending its answer`,
      { committed: false },
    );
    for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#dead);
    this.kill();
  }

  #onExit(exit: ProcessExit | undefined, failure: unknown): PoolHostError {
    clearInterval(this.#heartbeat);
    const how = exit
      ? exit.signal
        ? `was killed by ${exit.signal}`
        : `exited with ${exit.exitCode}`
      : `failed: ${(failure as Error)?.message ?? String(failure)}`;
    const stderr = this.#stderr.trim();
    const error = new PoolHostError(
      this.host.name,
      "anchor-exited",
      `the pool's anchor process on the host ${how}${stderr ? `: ${stderr}` : ""}`,
      failure === undefined ? {} : { cause: failure },
    );
    this.#dead ??= error;
    if (!this.#ending) debug("%s: anchor %s", this.host.name, how);
    for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#dead);
    return this.#dead;
  }
}
