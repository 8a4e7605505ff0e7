import { readFile } from "node:fs/promises";
import ssh2, {
  type AnyAuthMethod,
  type ClientChannel,
  type ConnectConfig,
  type ParsedKey,
  type ServerHostKeyAlgorithm,
  type SFTPWrapper,
} from "ssh2";
import { debug } from "./debug.js";
import {
  HostAbortError,
  HostAuthError,
  HostConnectError,
  HostConnectionLostError,
  HostKeyMismatchError,
  HostSystemError,
  HostTimeoutError,
} from "./errors.js";
import {
  checkHostKey,
  entriesFor,
  fingerprintOf,
  hostKeyAlgorithms,
  type KnownHostEntry,
  knownHostsName,
  parseKnownHosts,
} from "./known-hosts.js";
import { SUPERVISOR_COMMAND } from "./remote-scripts.js";
import type { ResolvedSshOptions } from "./ssh-options.js";

const { Client, utils } = ssh2;
type SshClient = InstanceType<typeof Client>;

/** A session channel the server refused while no other command of ours was holding one. */
export class SessionRefusedError extends Error {}

/**
 * Counts the session channels open on one connection, against the server's
 * `MaxSessions`: beyond the limit, callers wait in line. The limit starts at the
 * configured value and drops to what the server actually accepted when it refuses
 * one (then the refused call waits for a free session and tries again).
 */
class SessionSlots {
  active = 0;
  persistent = 0;
  readonly #waiters: { wake: () => void }[] = [];

  constructor(public limit: number) {}

  async acquire(signal?: AbortSignal): Promise<() => void> {
    while (this.active >= this.limit) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const waiter = {
          wake: () => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
          },
        };
        const onAbort = () => {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          reject(signal!.reason);
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        this.#waiters.push(waiter);
      });
    }
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.#waiters.shift()?.wake();
    };
  }

  /** Wakes everyone (the connection is gone: they will fail on their own). */
  wakeAll(): void {
    for (const waiter of this.#waiters.splice(0)) waiter.wake();
  }
}

function isRefusal(error: unknown): boolean {
  const reason = (error as { reason?: unknown }).reason;
  // 1 administratively prohibited (OpenSSH: "open failed" past MaxSessions), 4 resource shortage.
  return reason === 1 || reason === 4;
}

/** The replies of the supervisor (see `SUPERVISOR`). */
type SignalOutcome = "sent" | "no-process" | "refused";

/**
 * The connection's supervisor process (see `SUPERVISOR` in remote-scripts.ts):
 * registers the process groups of running commands, signals them (and any pid),
 * and stops the registered ones when the connection goes away.
 */
class Supervisor {
  #channel: ClientChannel | undefined;
  #opening: Promise<ClientChannel> | undefined;
  #queue: string[] = [];
  readonly #pending = new Map<
    number,
    { resolve: (outcome: SignalOutcome) => void; reject: (error: Error) => void }
  >();
  #nextId = 1;
  #received = "";

  constructor(readonly connection: SshConnection) {}

  #open(): Promise<ClientChannel> {
    this.#opening ??= this.connection
      .openSession<ClientChannel>(
        "supervisor",
        (callback) => this.connection.client.exec(SUPERVISOR_COMMAND, callback),
        {
          persistent: true,
        },
      )
      .then((channel) => {
        this.#channel = channel;
        channel.setEncoding("utf8");
        channel.on("data", (text: string) => this.#onData(text));
        channel.stderr
          .setEncoding("utf8")
          .on("data", (text: string) => debug("ssh supervisor stderr: %s", text));
        channel.once("close", () => this.#onClose());
        for (const line of this.#queue.splice(0)) channel.write(line);
        return channel;
      });
    this.#opening.catch((error: unknown) => {
      debug("ssh %s: supervisor did not start: %s", this.connection.name, String(error));
      this.#opening = undefined;
      this.#queue = [];
      this.#failPending(error instanceof Error ? error : new Error(String(error)));
    });
    return this.#opening;
  }

  start(): void {
    void this.#open().catch(() => {});
  }

  #onData(text: string): void {
    this.#received += text;
    for (;;) {
      const end = this.#received.indexOf("\n");
      if (end < 0) return;
      const line = this.#received.slice(0, end);
      this.#received = this.#received.slice(end + 1);
      const [id, outcome] = line.split(" ");
      const pending = this.#pending.get(Number(id));
      if (!pending) continue;
      this.#pending.delete(Number(id));
      pending.resolve(outcome === "0" ? "sent" : outcome === "1" ? "no-process" : "refused");
    }
  }

  #onClose(): void {
    this.#channel = undefined;
    this.#opening = undefined;
    this.#failPending(new Error("it exited"));
  }

  /** Rejects the signal requests waiting for a reply: connection lost, or `ERR_HOST_SYSTEM`. */
  #failPending(cause: Error): void {
    const error =
      this.connection.lostError ??
      new HostSystemError("kill", "EIO", `the remote supervisor is not running: ${cause.message}`, {
        cause,
        host: this.connection.name,
      });
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  #send(line: string): void {
    if (this.#channel?.writable) this.#channel.write(line);
    else {
      this.#queue.push(line);
      if (!this.connection.lostError) void this.#open().catch(() => {});
    }
  }

  add(pid: number, startTime: bigint | undefined): void {
    this.#send(`add ${pid} ${startTime ?? "-"}\n`);
  }

  remove(pid: number): void {
    this.#send(`del ${pid}\n`);
  }

  /** `signal` without "SIG"; `group`: the process group `pid` leads. */
  signal(
    pid: number,
    signal: string,
    startTime: bigint | undefined,
    group: boolean,
  ): Promise<SignalOutcome> {
    const id = this.#nextId++;
    const outcome = new Promise<SignalOutcome>((resolve, reject) =>
      this.#pending.set(id, { resolve, reject }),
    );
    this.#send(`sig ${id} ${signal} ${pid} ${startTime ?? "-"} ${group ? 1 : 0}\n`);
    return outcome;
  }

  /** EOF: the supervisor stops whatever is still registered, then exits. */
  end(): void {
    this.#channel?.end();
  }
}

/** One SSH connection: ssh2 client, session accounting, supervisor and SFTP. */
export class SshConnection {
  readonly slots: SessionSlots;
  readonly supervisor: Supervisor;
  #lost: HostConnectionLostError | undefined;
  #ending = false;
  #lastError: Error | undefined;
  readonly #onLost = new Set<(error: HostConnectionLostError) => void>();
  #sftp: Promise<SFTPWrapper> | undefined;
  readonly closed: Promise<void>;

  private constructor(
    readonly client: SshClient,
    readonly options: ResolvedSshOptions,
    /** The server's host key, `SHA256:…`. */
    readonly fingerprint: string,
  ) {
    this.slots = new SessionSlots(options.maxSessions);
    this.supervisor = new Supervisor(this);
    client.on("error", (error: Error) => {
      this.#lastError = error;
    });
    this.closed = new Promise((resolve) => {
      client.once("close", () => {
        this.#lost = new HostConnectionLostError(
          this.#ending
            ? `the connection to ${this.name} was closed`
            : `the connection to ${this.name} was lost${this.#lastError ? `: ${this.#lastError.message}` : ""}`,
          { cause: this.#lastError, host: this.name },
        );
        debug("ssh %s: connection closed%s", this.name, this.#ending ? "" : " (lost)");
        this.slots.wakeAll();
        for (const handler of this.#onLost) handler(this.#lost);
        this.#onLost.clear();
        resolve();
      });
    });
  }

  get name(): string {
    return this.options.name;
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
          reject(this.#lost ?? error);
        },
      );
    });
  }

  /**
   * Opens a session channel (exec, SFTP) within the session limit. A refusal while
   * other sessions are open lowers the limit and waits for one to close.
   */
  async openSession<T extends ClientChannel | SFTPWrapper>(
    kind: string,
    open: (callback: (error: Error | undefined, channel: T) => void) => void,
    options: {
      signal?: AbortSignal;
      persistent?: boolean;
      /**
       * Called with the channel inside ssh2's callback: ssh2 may emit the channel's
       * events (`exit`!) in the same tick, before a promise continuation runs.
       */
      onChannel?: (channel: T) => void;
    } = {},
  ): Promise<T> {
    for (;;) {
      if (this.#lost) throw this.#lost;
      const release = await this.slots.acquire(options.signal);
      if (this.#lost) {
        release();
        throw this.#lost;
      }
      let channel: T;
      try {
        channel = await this.guard(
          new Promise<T>((resolve, reject) => {
            open((error, opened) => {
              if (error) {
                reject(error);
                return;
              }
              if (options.persistent) this.slots.persistent++;
              opened.once("close", () => {
                if (options.persistent) this.slots.persistent--;
                release();
              });
              options.onChannel?.(opened);
              resolve(opened);
            });
          }),
        );
      } catch (error) {
        const others = this.slots.active - 1;
        release();
        if (this.#lost) throw this.#lost;
        if (isRefusal(error) && others > 0) {
          const limit = Math.max(1, others);
          if (limit < this.slots.limit) {
            debug("ssh %s: server refused session %d: limit now %d", this.name, others + 1, limit);
            this.slots.limit = limit;
          }
          if (this.slots.limit <= this.slots.persistent)
            throw new SessionRefusedError(
              `${this.name} allows only ${this.slots.limit} session channels per connection (MaxSessions); at least ${this.slots.persistent + 1} are needed`,
            );
          continue;
        }
        throw new SessionRefusedError(
          `${this.name} refused a ${kind} session: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
      return channel;
    }
  }

  /** The connection's SFTP session, opened on first use. */
  sftp(signal?: AbortSignal): Promise<SFTPWrapper> {
    if (!this.#sftp) {
      const opening = this.openSession<SFTPWrapper>(
        "sftp",
        (callback) => this.client.sftp(callback),
        {
          signal,
          persistent: true,
        },
      ).then((channel) => {
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

  forwardTcp(address: string, port: number): Promise<ClientChannel> {
    return this.guard(
      new Promise((resolve, reject) => {
        this.client.forwardOut("127.0.0.1", 0, address, port, (error, channel) =>
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
  }

  /**
   * Connects, verifies the host key, authenticates. Rejects with
   * `ERR_HOST_KEY_MISMATCH`, `ERR_HOST_AUTH`, `ERR_HOST_CONNECT`, `ERR_TIMEOUT`
   * (connectTimeoutMs), `ERR_ABORTED` (`signal`) or `lifetime`'s reason.
   */
  static async open(
    options: ResolvedSshOptions,
    lifetime: AbortSignal,
    signal?: AbortSignal,
  ): Promise<SshConnection> {
    const name = options.name;
    const verify = await hostKeyVerifier(options);
    const authHandler = await authentication(options);
    const client = new Client();
    let fingerprint = "";
    let keyFailure: HostKeyMismatchError | undefined;
    let lastError: Error | undefined;
    const config: ConnectConfig = {
      host: options.host,
      port: options.port,
      username: options.user,
      readyTimeout: options.connectTimeoutMs + 1000,
      keepaliveInterval: options.keepaliveIntervalMs,
      keepaliveCountMax: options.keepaliveCountMax,
      authHandler,
      tryKeyboard: options.password !== undefined,
      hostVerifier: (key: Buffer) => {
        fingerprint = fingerprintOf(key);
        keyFailure = verify.check(key, fingerprint);
        if (keyFailure)
          debug("ssh %s: host key %s refused (%s)", name, fingerprint, keyFailure.problem);
        return keyFailure === undefined;
      },
      ...(verify.algorithms.length > 0
        ? { algorithms: { serverHostKey: verify.algorithms as ServerHostKeyAlgorithm[] } }
        : {}),
    };
    // ssh2 may still report errors after a failed attempt (a late handshake timeout):
    // they must not become uncaught exceptions.
    client.on("error", (error: Error) => debug("ssh %s: %s", name, error.message));
    debug("ssh %s: connecting", name);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          fail(new HostTimeoutError(`connect ${name}`, options.connectTimeoutMs, { host: name })),
        options.connectTimeoutMs,
      );
      const onAbort = () =>
        fail(new HostAbortError(`connect ${name}`, { cause: signal?.reason, host: name }));
      const onLifetime = () => fail(lifetime.reason as Error);
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        lifetime.removeEventListener("abort", onLifetime);
        client.off("error", onError);
        client.off("close", onClose);
        client.off("ready", onReady);
      };
      const fail = (error: Error) => {
        cleanup();
        client.destroy();
        reject(error);
      };
      const onError = (error: Error & { level?: string }) => {
        lastError = error;
      };
      const onClose = () => fail(connectError(options, keyFailure, lastError));
      const onReady = () => {
        cleanup();
        resolve();
      };
      client.on("error", onError);
      client.once("close", onClose);
      client.once("ready", onReady);
      if (signal?.aborted) return onAbort();
      if (lifetime.aborted) return onLifetime();
      signal?.addEventListener("abort", onAbort, { once: true });
      lifetime.addEventListener("abort", onLifetime, { once: true });
      try {
        client.connect(config);
      } catch (error) {
        fail(
          new HostConnectError(`cannot connect to ${name}: ${(error as Error).message}`, {
            cause: error,
            host: name,
          }),
        );
      }
    });
    // Many small request/reply exchanges: Nagle's algorithm with delayed ACKs would
    // add ~40 ms to each.
    client.setNoDelay(true);
    const connection = new SshConnection(client, options, fingerprint);
    connection.supervisor.start();
    debug("ssh %s: ready, host key %s", name, fingerprint);
    return connection;
  }
}

function connectError(
  options: ResolvedSshOptions,
  keyFailure: HostKeyMismatchError | undefined,
  error: (Error & { level?: string }) | undefined,
): Error {
  const name = options.name;
  if (keyFailure) return keyFailure;
  if (error?.level === "client-authentication")
    return new HostAuthError(
      options.user,
      `authentication as ${options.user} failed on ${name} (offered: ${offeredMethods(options).join(", ")})`,
      { cause: error, host: name },
    );
  if (error?.level === "client-timeout")
    return new HostTimeoutError(`connect ${name}`, options.connectTimeoutMs, {
      cause: error,
      host: name,
    });
  if (error?.level === "client-socket")
    return new HostConnectError(`cannot reach ${name}: ${error.message}`, {
      cause: error,
      host: name,
    });
  return new HostConnectError(
    `the SSH connection to ${name} failed${error ? `: ${error.message}` : " before authentication"}`,
    { cause: error, host: name },
  );
}

function offeredMethods(options: ResolvedSshOptions): string[] {
  const methods: string[] = [];
  if (options.privateKey !== undefined || options.privateKeyFile !== undefined)
    methods.push("publickey");
  if (options.agent !== undefined) methods.push("agent");
  if (options.password !== undefined) methods.push("password", "keyboard-interactive");
  return methods;
}

async function authentication(options: ResolvedSshOptions): Promise<AnyAuthMethod[]> {
  const username = options.user;
  const methods: AnyAuthMethod[] = [];
  let key = options.privateKey;
  if (key === undefined && options.privateKeyFile !== undefined) {
    try {
      key = await readFile(options.privateKeyFile);
    } catch (error) {
      throw new HostAuthError(
        username,
        `cannot read the private key ${options.privateKeyFile}: ${(error as Error).message}`,
        {
          cause: error,
          host: options.name,
        },
      );
    }
  }
  if (key !== undefined) {
    const parsed = utils.parseKey(key, options.passphrase);
    if (parsed instanceof Error)
      throw new HostAuthError(username, `cannot use the private key: ${parsed.message}`, {
        cause: parsed,
        host: options.name,
      });
    const first = (Array.isArray(parsed) ? parsed[0] : parsed) as ParsedKey | undefined;
    if (first) methods.push({ type: "publickey", username, key: first });
  }
  if (options.agent !== undefined) methods.push({ type: "agent", username, agent: options.agent });
  const password = options.password;
  if (password !== undefined) {
    methods.push({ type: "password", username, password });
    methods.push({
      type: "keyboard-interactive",
      username,
      prompt: (_name, _instructions, _language, prompts, finish) =>
        finish(prompts.map(() => password)),
    });
  }
  return methods;
}

/** The host key check for a connection, and the key formats to offer. */
async function hostKeyVerifier(options: ResolvedSshOptions): Promise<{
  check: (key: Buffer, fingerprint: string) => HostKeyMismatchError | undefined;
  algorithms: string[];
}> {
  const policy = options.hostKey;
  const name = options.name;
  if (policy === "insecure-accept-any") {
    debug("ssh %s: host key verification is OFF (insecure-accept-any)", name);
    return { check: () => undefined, algorithms: [] };
  }
  if ("fingerprint" in policy) {
    const pinned = new Set(options.fingerprints);
    return {
      check: (_key, fingerprint) =>
        pinned.has(fingerprint)
          ? undefined
          : new HostKeyMismatchError(
              "mismatch",
              fingerprint,
              `the host key of ${name} is ${fingerprint}, not the pinned ${[...pinned].join(" or ")}: refusing to connect (possible machine-in-the-middle)`,
              { host: name },
            ),
      algorithms: [],
    };
  }
  let text: string;
  let source: string;
  if ("knownHosts" in policy) {
    text = policy.knownHosts;
    source = "the given known hosts";
  } else {
    const files =
      typeof policy.knownHostsFile === "string" ? [policy.knownHostsFile] : policy.knownHostsFile;
    source = files.join(", ");
    const texts = await Promise.all(
      files.map((file) =>
        readFile(file, "utf8").catch((error: unknown) => {
          if ((error as { code?: string }).code === "ENOENT") return "";
          throw new HostConnectError(
            `cannot read known hosts ${file}: ${(error as Error).message}`,
            {
              cause: error,
              host: name,
            },
          );
        }),
      ),
    );
    text = texts.join("\n");
  }
  const lookup = knownHostsName(options.host, options.port);
  const entries: KnownHostEntry[] = entriesFor(parseKnownHosts(text), lookup);
  return {
    check: (key, fingerprint) => {
      const problem = checkHostKey(entries, key);
      if (!problem) return undefined;
      const message =
        problem === "unknown"
          ? `${lookup} is not in ${source}; its host key is ${fingerprint} (add it after checking it, or pin it)`
          : problem === "revoked"
            ? `the host key ${fingerprint} of ${lookup} is marked @revoked in ${source}`
            : `the host key of ${lookup} is ${fingerprint}, which does not match ${source}: refusing to connect (possible machine-in-the-middle)`;
      return new HostKeyMismatchError(problem, fingerprint, message, { host: name });
    },
    algorithms: hostKeyAlgorithms(
      entries.filter((entry) => !entry.revoked).map((entry) => entry.keyType),
    ),
  };
}
