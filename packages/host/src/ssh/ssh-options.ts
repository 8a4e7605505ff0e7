import { userInfo } from "node:os";
import type { Duplex } from "node:stream";
import {
  type CallOptions,
  checkObject,
  checkOptionKeys,
  checkTimeoutMs,
  InvalidArgumentError,
} from "@qemu-kvm/core";
import {
  type DefaultTimeouts,
  resolveDefaultTimeouts,
  type TimedOperation,
} from "../shared/default-timeouts.js";
import { normalizeFingerprint } from "./fingerprint.js";
import { isDuplex, type SshStreamOpener } from "./stream-socket.js";

/**
 * How the server's host key is verified. There is no default: choosing none is a
 * type error, and turning verification off must be spelled out.
 *
 * - `{ knownHostsFile }`: OpenSSH known_hosts file(s) (e.g. `~/.ssh/known_hosts`);
 *   plain, `[host]:port`, wildcard and hashed entries, and `@revoked` lines.
 * - `{ knownHosts }`: the same format, as text.
 * - `{ fingerprint }`: pinned `SHA256:…` fingerprint(s), as `ssh-keygen -l` prints.
 * - `"insecure-accept-any"`: NO verification; anyone on the path can read and change
 *   everything, including passwords. For throwaway test machines only.
 */
export type HostKeyPolicy =
  | { knownHostsFile: string | readonly string[] }
  | { knownHosts: string }
  | { fingerprint: string | readonly string[] }
  | "insecure-accept-any";

/**
 * `connectSshHost` options. `signal` and `timeoutMs` bound the first connection
 * (`timeoutMs` defaults to `connectTimeoutMs`); an unknown key is
 * `ERR_INVALID_ARGUMENT`.
 */
export interface SshHostOptions extends CallOptions {
  /**
   * Host name or address of the SSH server. With `sock`, the name of the peer
   * (for messages and the known hosts lookup): nothing connects to it.
   */
  host: string;
  /** Default 22. Not with `sock` (the stream is already connected). */
  port?: number;
  /**
   * Run the connection over this stream instead of a TCP connection to
   * `host:port`: a connected `Duplex`, e.g. what another host's
   * `connectTcp("127.0.0.1", 6001)` returns (a port forwarded to a guest's
   * sshd). Such a connection cannot be made again: when it drops, calls in
   * flight reject with `ERR_HOST_CONNECTION_LOST` and the host is closed (later
   * calls: `ERR_HOST_CLOSED`). Give a function that opens a new stream instead,
   * and the host connects again with it after a drop. Closing the host ends
   * the stream.
   */
  sock?: Duplex | SshStreamOpener;
  /** Default: the local user name. */
  user?: string;
  /** Private key text (OpenSSH, PEM or PPK). */
  privateKey?: string | Buffer;
  /** Path of a private key file, read at each connection. */
  privateKeyFile?: string;
  /** Passphrase of an encrypted private key. */
  passphrase?: string;
  /** ssh-agent socket path, or `true` for `$SSH_AUTH_SOCK`. */
  agent?: string | true;
  /** Password; also answers keyboard-interactive prompts (PAM). */
  password?: string;
  /** Required: how the host key is verified (see `HostKeyPolicy`). */
  hostKey: HostKeyPolicy;
  /**
   * Each connection (the first, and each reconnection after a loss): TCP
   * connect + handshake + authentication must finish within this. Default
   * 20 000 ms; `Infinity`: no deadline.
   */
  connectTimeoutMs?: number;
  /** Send an SSH keepalive after this long without traffic; 0 disables. Default 15 000 ms. */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives before the connection counts as lost. Default 3. */
  keepaliveCountMax?: number;
  /**
   * Most session channels open at once on the connection (OpenSSH's `MaxSessions`,
   * default 10 on the server). Two are held by the host (SFTP and the supervisor);
   * the others run commands, and further commands wait for one. If the server allows
   * fewer, the host learns it from the refusals. Default 10.
   */
  maxSessions?: number;
  /**
   * Each operation's deadline when a call gives no `timeoutMs`, over
   * `DEFAULT_TIMEOUTS` (exec 10 min, readFile 5 min, connectTcp 30 s…).
   */
  defaultTimeouts?: DefaultTimeouts;
}

/**
 * What logs in. Kept for the reconnections (each one authenticates again), in
 * the closure `ResolvedSshOptions.credentials`, never as a property: nothing
 * that prints an object of this package (`util.inspect`, `JSON.stringify`,
 * `console.log`, an error) can reach it.
 */
export interface SshCredentials {
  privateKey: string | Buffer | undefined;
  /** Read at each connection: only its path is kept. */
  privateKeyFile: string | undefined;
  passphrase: string | undefined;
  password: string | undefined;
}

/** The options, checked, with defaults; no secret among them (see `credentials`). */
export interface ResolvedSshOptions {
  host: string;
  /** 22 with `sock` (the known hosts lookup then uses `host` alone). */
  port: number;
  sock: Duplex | SshStreamOpener | undefined;
  user: string;
  /** The secrets, from a closure: each connection asks, uses and forgets them. */
  credentials: () => SshCredentials;
  /** The authentication methods offered, in order (for messages). */
  methods: readonly string[];
  /** Whether a password is given (it also answers keyboard-interactive prompts). */
  hasPassword: boolean;
  agent: string | undefined;
  hostKey: HostKeyPolicy;
  fingerprints: string[];
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  maxSessions: number;
  defaultTimeouts: Readonly<Record<TimedOperation, number>>;
  /** `user@host:port` (`user@host` with `sock`), for messages. */
  name: string;
}

const OPTION_KEYS = [
  "host",
  "port",
  "sock",
  "user",
  "privateKey",
  "privateKeyFile",
  "passphrase",
  "agent",
  "password",
  "hostKey",
  "connectTimeoutMs",
  "keepaliveIntervalMs",
  "keepaliveCountMax",
  "maxSessions",
  "defaultTimeouts",
  "signal",
  "timeoutMs",
];

function checkInteger(value: unknown, field: string, min: number, max: number): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
    throw new InvalidArgumentError(field, `an integer from ${min} to ${max}`, value);
}

function checkString(value: unknown, field: string, secret = false): void {
  if (value !== undefined && typeof value !== "string")
    throw new InvalidArgumentError(field, "a string", secret ? hidden(value) : value);
}

/**
 * What a message shows of a secret given with the wrong type: only its kind
 * (core's `describeValue` would show a number, or the start of a string).
 */
function hidden(value: unknown): unknown {
  return typeof value === "object" || typeof value === "undefined"
    ? value
    : Symbol(`a ${typeof value}, not shown`);
}

const POLICY_RULE =
  'one of { knownHostsFile }, { knownHosts }, { fingerprint } or, to turn verification off, "insecure-accept-any"';

function listOf(value: unknown): unknown[] {
  return typeof value === "string" ? [value] : Array.isArray(value) ? value : [];
}

/** Checks the host key policy; returns the pinned fingerprints, normalized. */
function checkHostKeyPolicy(policy: unknown): string[] {
  if (policy === "insecure-accept-any") return [];
  if (typeof policy !== "object" || policy === null || Array.isArray(policy))
    throw new InvalidArgumentError("hostKey", POLICY_RULE, policy, {
      problem: `is required: ${POLICY_RULE}`,
    });
  const [kind] = Object.keys(policy);
  if (kind === "fingerprint") {
    checkOptionKeys(policy, ["fingerprint"], "hostKey");
    const fingerprints = listOf((policy as { fingerprint: unknown }).fingerprint).map((value) => {
      const normalized = typeof value === "string" ? normalizeFingerprint(value) : undefined;
      if (!normalized)
        throw new InvalidArgumentError("hostKey.fingerprint", "a SHA256:… fingerprint", value);
      return normalized;
    });
    if (fingerprints.length === 0)
      throw new InvalidArgumentError(
        "hostKey.fingerprint",
        "one or more SHA256:… fingerprints",
        [],
      );
    return fingerprints;
  }
  if (kind === "knownHostsFile") {
    checkOptionKeys(policy, ["knownHostsFile"], "hostKey");
    const files = listOf((policy as { knownHostsFile: unknown }).knownHostsFile);
    if (files.length === 0 || files.some((file) => typeof file !== "string" || file === ""))
      throw new InvalidArgumentError(
        "hostKey.knownHostsFile",
        "a path or a list of paths",
        (policy as { knownHostsFile: unknown }).knownHostsFile,
      );
    return [];
  }
  if (kind === "knownHosts") {
    checkOptionKeys(policy, ["knownHosts"], "hostKey");
    const text = (policy as { knownHosts: unknown }).knownHosts;
    if (typeof text !== "string")
      throw new InvalidArgumentError("hostKey.knownHosts", "known_hosts text", text);
    return [];
  }
  throw new InvalidArgumentError("hostKey", POLICY_RULE, policy);
}

/** The ssh-agent socket: `true` means `$SSH_AUTH_SOCK`. */
function agentSocket(agent: unknown): string | undefined {
  if (agent === undefined) return undefined;
  if (agent !== true && (typeof agent !== "string" || agent === ""))
    throw new InvalidArgumentError("agent", "a socket path, or true for $SSH_AUTH_SOCK", agent);
  const socket = agent === true ? process.env.SSH_AUTH_SOCK : agent;
  if (!socket)
    throw new InvalidArgumentError("agent", "a socket path", agent, {
      problem: "is true but SSH_AUTH_SOCK is not set",
    });
  return socket;
}

function checkSock(options: SshHostOptions): void {
  const sock: unknown = options.sock;
  if (sock === undefined) return;
  if (typeof sock !== "function" && !isDuplex(sock))
    throw new InvalidArgumentError(
      "sock",
      "a connected Duplex stream, or a function that opens one",
      sock,
    );
  if (options.port !== undefined)
    throw new InvalidArgumentError("port", "no port with sock", options.port, {
      problem: "is meaningless with sock: the stream is already connected",
    });
}

/** Throws on anything but what the options' types allow; the policy and login are checked apart. */
function checkFields(options: SshHostOptions): void {
  checkObject(options, "options");
  checkOptionKeys(options, OPTION_KEYS);
  if (typeof options.host !== "string" || options.host === "")
    throw new InvalidArgumentError("host", "a host name or address", options.host);
  checkInteger(options.port, "port", 1, 65535);
  checkSock(options);
  checkString(options.user, "user");
  checkString(options.privateKeyFile, "privateKeyFile");
  checkString(options.passphrase, "passphrase", true);
  checkString(options.password, "password", true);
  if (
    options.privateKey !== undefined &&
    typeof options.privateKey !== "string" &&
    !Buffer.isBuffer(options.privateKey)
  )
    throw new InvalidArgumentError(
      "privateKey",
      "key text or a Buffer",
      hidden(options.privateKey),
    );
  checkInteger(options.keepaliveCountMax, "keepaliveCountMax", 1, 1000);
  checkInteger(options.maxSessions, "maxSessions", 3, 10_000);
  checkTimeoutMs(options.connectTimeoutMs, "connectTimeoutMs");
  checkTimeoutMs(options.timeoutMs);
  const keepalive = options.keepaliveIntervalMs;
  if (
    keepalive !== undefined &&
    (typeof keepalive !== "number" || !(keepalive >= 0) || !Number.isFinite(keepalive))
  )
    throw new InvalidArgumentError(
      "keepaliveIntervalMs",
      "a finite number of milliseconds ≥ 0 (0 disables)",
      keepalive,
    );
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal))
    throw new InvalidArgumentError("signal", "an AbortSignal", options.signal);
}

/** Validates the options synchronously (throws `ERR_INVALID_ARGUMENT`) and fills in defaults. */
export function resolveSshOptions(options: SshHostOptions): ResolvedSshOptions {
  checkFields(options);
  const defaultTimeouts = resolveDefaultTimeouts(options.defaultTimeouts);
  const fingerprints = checkHostKeyPolicy(options.hostKey);
  const agent = agentSocket(options.agent);
  if (
    options.privateKey === undefined &&
    options.privateKeyFile === undefined &&
    agent === undefined &&
    options.password === undefined
  )
    throw new InvalidArgumentError("options", "a way to log in", options, {
      problem: "need privateKey, privateKeyFile, agent or password to log in",
    });
  const port = options.port ?? 22;
  const user = options.user ?? userInfo().username;
  const address = options.host.includes(":") ? `[${options.host}]` : options.host;
  const { privateKey, privateKeyFile, passphrase, password } = options;
  const methods: string[] = [];
  if (privateKey !== undefined || privateKeyFile !== undefined) methods.push("publickey");
  if (agent !== undefined) methods.push("agent");
  if (password !== undefined) methods.push("password", "keyboard-interactive");
  return {
    host: options.host,
    port,
    sock: options.sock,
    user,
    credentials: () => ({ privateKey, privateKeyFile, passphrase, password }),
    methods,
    hasPassword: password !== undefined,
    agent,
    hostKey: options.hostKey,
    fingerprints,
    connectTimeoutMs: options.connectTimeoutMs ?? 20_000,
    keepaliveIntervalMs: options.keepaliveIntervalMs ?? 15_000,
    keepaliveCountMax: options.keepaliveCountMax ?? 3,
    maxSessions: options.maxSessions ?? 10,
    defaultTimeouts,
    name: options.sock === undefined ? `${user}@${address}:${port}` : `${user}@${address}`,
  };
}
