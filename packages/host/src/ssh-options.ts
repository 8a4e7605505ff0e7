import { userInfo } from "node:os";
import { HostArgumentError } from "./errors.js";
import { normalizeFingerprint } from "./known-hosts.js";
import { checkDuration } from "./operation.js";

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

export interface SshHostOptions {
  /** Host name or address of the SSH server. */
  host: string;
  /** Default 22. */
  port?: number;
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
  /** TCP connect + handshake + authentication must finish within this. Default 20 000 ms. */
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
  /** Aborts the first connection attempt (`sshHost()` rejects with `ERR_ABORTED`). */
  signal?: AbortSignal;
}

export interface ResolvedSshOptions {
  host: string;
  port: number;
  user: string;
  privateKey: string | Buffer | undefined;
  privateKeyFile: string | undefined;
  passphrase: string | undefined;
  agent: string | undefined;
  password: string | undefined;
  hostKey: HostKeyPolicy;
  fingerprints: string[];
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  maxSessions: number;
  /** `user@host:port`, for messages. */
  name: string;
}

function checkInteger(value: unknown, field: string, min: number, max: number): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
    throw new HostArgumentError(
      field,
      `must be an integer from ${min} to ${max} (got ${String(value)})`,
    );
}

/** Validates the options synchronously (throws `ERR_HOST_INVALID_ARGUMENT`) and fills in defaults. */
export function resolveSshOptions(options: SshHostOptions): ResolvedSshOptions {
  if (typeof options !== "object" || options === null)
    throw new HostArgumentError("options", "must be an object");
  if (typeof options.host !== "string" || options.host === "")
    throw new HostArgumentError("host", "must be a non-empty string");
  checkInteger(options.port, "port", 1, 65535);
  checkInteger(options.keepaliveCountMax, "keepaliveCountMax", 1, 1000);
  checkInteger(options.maxSessions, "maxSessions", 3, 10_000);
  checkDuration(options.connectTimeoutMs, "connectTimeoutMs");
  checkDuration(options.keepaliveIntervalMs, "keepaliveIntervalMs");
  const policy = options.hostKey as unknown;
  let fingerprints: string[] = [];
  if (policy === "insecure-accept-any") {
    // Spelled out by the caller: accepted.
  } else if (typeof policy === "object" && policy !== null && "fingerprint" in policy) {
    const given = (policy as { fingerprint: unknown }).fingerprint;
    const list = typeof given === "string" ? [given] : Array.isArray(given) ? given : [];
    fingerprints = list.map((value) => {
      const normalized = typeof value === "string" ? normalizeFingerprint(value) : undefined;
      if (!normalized)
        throw new HostArgumentError(
          "hostKey.fingerprint",
          `${JSON.stringify(value)} is not a SHA256:… fingerprint`,
        );
      return normalized;
    });
    if (fingerprints.length === 0) throw new HostArgumentError("hostKey.fingerprint", "is empty");
  } else if (typeof policy === "object" && policy !== null && "knownHostsFile" in policy) {
    const files = (policy as { knownHostsFile: unknown }).knownHostsFile;
    const list = typeof files === "string" ? [files] : Array.isArray(files) ? files : [];
    if (list.length === 0 || list.some((file) => typeof file !== "string" || file === ""))
      throw new HostArgumentError("hostKey.knownHostsFile", "must be a path or a list of paths");
  } else if (typeof policy === "object" && policy !== null && "knownHosts" in policy) {
    if (typeof (policy as { knownHosts: unknown }).knownHosts !== "string")
      throw new HostArgumentError("hostKey.knownHosts", "must be known_hosts text");
  } else {
    throw new HostArgumentError(
      "hostKey",
      'is required: { knownHostsFile }, { knownHosts }, { fingerprint } or, to turn verification off, "insecure-accept-any"',
    );
  }
  const agent = options.agent === true ? process.env.SSH_AUTH_SOCK : options.agent;
  if (options.agent === true && !agent)
    throw new HostArgumentError("agent", "is true but SSH_AUTH_SOCK is not set");
  if (
    options.privateKey === undefined &&
    options.privateKeyFile === undefined &&
    agent === undefined &&
    options.password === undefined
  )
    throw new HostArgumentError(
      "options",
      "need privateKey, privateKeyFile, agent or password to log in",
    );
  const port = options.port ?? 22;
  const user = options.user ?? userInfo().username;
  return {
    host: options.host,
    port,
    user,
    privateKey: options.privateKey,
    privateKeyFile: options.privateKeyFile,
    passphrase: options.passphrase,
    agent,
    password: options.password,
    hostKey: options.hostKey,
    fingerprints,
    connectTimeoutMs: options.connectTimeoutMs ?? 20_000,
    keepaliveIntervalMs: options.keepaliveIntervalMs ?? 15_000,
    keepaliveCountMax: options.keepaliveCountMax ?? 3,
    maxSessions: options.maxSessions ?? 10,
    name: `${user}@${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`,
  };
}
