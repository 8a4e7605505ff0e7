import type { Duplex } from "node:stream";
import type { Deadline } from "@qemu-kvm/core";
import ssh2, { type ConnectConfig, type ServerHostKeyAlgorithm } from "ssh2";
import { HostTimeoutError } from "../errors/command-errors.js";
import {
  HostAuthError,
  HostConnectError,
  type HostKeyMismatchError,
} from "../errors/host-errors.js";
import { debug } from "../shared/observe.js";
import { stopError } from "../shared/stop.js";
import { type Authentication, authentication } from "./authentication.js";
import { SshConnection } from "./connection.js";
import { keyFingerprint } from "./fingerprint.js";
import { type HostKeyVerifier, hostKeyVerifier } from "./host-key.js";
import type { ResolvedSshOptions } from "./ssh-options.js";

const { Client } = ssh2;
type SshClient = InstanceType<typeof Client>;

/**
 * Connects, verifies the host key, authenticates, within `deadline` (the
 * caller's signal, `connectTimeoutMs` or the call's `timeoutMs`, the host's
 * lifetime). Rejects with `ERR_HOST_KEY_MISMATCH`, `ERR_HOST_AUTH`,
 * `ERR_HOST_CONNECT`, `ERR_TIMEOUT`, `ERR_ABORTED` or `ERR_HOST_CLOSED`.
 */
export async function connectSsh(
  options: ResolvedSshOptions,
  deadline: Deadline,
  openStream?: (deadline: Deadline) => Promise<Duplex>,
): Promise<SshConnection> {
  const name = options.name;
  if (deadline.stopped) throw stopError(deadline, name);
  const verify = await hostKeyVerifier(options);
  const login = await authentication(options);
  try {
    if (deadline.stopped) throw stopError(deadline, name);
    // Opened last: nothing before can fail and leave it open.
    const sock = await openStream?.(deadline);
    try {
      return await startConnection(options, deadline, verify, login, sock);
    } catch (error) {
      sock?.destroy();
      throw error;
    }
  } finally {
    // Authenticated or failed: the connection keeps no secret.
    login.forget();
  }
}

async function startConnection(
  options: ResolvedSshOptions,
  deadline: Deadline,
  verify: HostKeyVerifier,
  login: Authentication,
  sock: Duplex | undefined,
): Promise<SshConnection> {
  const name = options.name;
  if (deadline.stopped) throw stopError(deadline, name);
  const client = new Client();
  let fingerprint = "";
  let keyFailure: HostKeyMismatchError | undefined;
  const config = connectConfig(options, verify, login, sock, (key) => {
    fingerprint = keyFingerprint(key);
    keyFailure = verify.check(key, fingerprint);
    if (keyFailure)
      debug("ssh %s: host key %s refused (%s)", name, fingerprint, keyFailure.problem);
    return keyFailure === undefined;
  });
  // ssh2 may still report errors after a failed attempt (a late handshake failure):
  // they must not become uncaught exceptions.
  client.on("error", (error: Error) => debug("ssh %s: %s", name, error.message));
  debug("ssh %s: connecting", name);
  await handshake(client, config, deadline, options, () => keyFailure);
  // Many small request/reply exchanges: Nagle's algorithm with delayed ACKs would
  // add ~40 ms to each.
  client.setNoDelay(true);
  // SSH has no half-close: once the peer ended the stream, the connection is over.
  sock?.once("end", () => sock.destroy());
  const connection = new SshConnection(client, options, fingerprint, sock);
  connection.supervisor.start();
  debug("ssh %s: ready, host key %s", name, fingerprint);
  return connection;
}

function connectConfig(
  options: ResolvedSshOptions,
  verify: HostKeyVerifier,
  login: Authentication,
  sock: Duplex | undefined,
  hostVerifier: (key: Buffer) => boolean,
): ConnectConfig {
  return {
    ...(sock === undefined ? { host: options.host, port: options.port } : { sock }),
    username: options.user,
    // The deadline is ours (any length, and aborts): ssh2's own timer is off.
    readyTimeout: 0,
    keepaliveInterval: options.keepaliveIntervalMs,
    keepaliveCountMax: options.keepaliveCountMax,
    authHandler: login.handler,
    tryKeyboard: options.hasPassword,
    hostVerifier,
    ...(verify.algorithms.length > 0
      ? { algorithms: { serverHostKey: verify.algorithms as ServerHostKeyAlgorithm[] } }
      : {}),
  };
}

/** Resolves once the client is ready; rejects (and destroys the client) when it closes or the deadline stops. */
function handshake(
  client: SshClient,
  config: ConnectConfig,
  deadline: Deadline,
  options: ResolvedSshOptions,
  keyFailure: () => HostKeyMismatchError | undefined,
): Promise<void> {
  const name = options.name;
  let lastError: (Error & { level?: string }) | undefined;
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      deadline.signal.removeEventListener("abort", onStop);
      client.off("error", onError);
      client.off("close", onClose);
      client.off("ready", onReady);
    };
    const fail = (error: unknown) => {
      cleanup();
      client.destroy();
      reject(error);
    };
    const onStop = () => fail(stopError(deadline, name));
    const onError = (error: Error & { level?: string }) => {
      lastError = error;
    };
    const onClose = () => fail(connectError(options, keyFailure(), lastError));
    const onReady = () => {
      cleanup();
      resolve();
    };
    client.on("error", onError);
    client.once("close", onClose);
    client.once("ready", onReady);
    if (deadline.stopped) return onStop();
    deadline.signal.addEventListener("abort", onStop, { once: true });
    try {
      client.connect(config);
    } catch (error) {
      fail(
        new HostConnectError({
          message: `cannot connect to ${name}: ${(error as Error).message}`,
          host: name,
          cause: error,
        }),
      );
    }
  });
}

function connectError(
  options: ResolvedSshOptions,
  keyFailure: HostKeyMismatchError | undefined,
  error: (Error & { level?: string }) | undefined,
): Error {
  const host = options.name;
  if (keyFailure) return keyFailure;
  if (error?.level === "client-authentication")
    return new HostAuthError({
      user: options.user,
      message: `authentication as ${options.user} failed on ${host} (offered: ${options.methods.join(", ")})`,
      host,
      cause: error,
    });
  if (error?.level === "client-timeout")
    return new HostTimeoutError({
      operation: `connect ${host}`,
      timeoutMs: options.connectTimeoutMs,
      host,
      cause: error,
    });
  if (error?.level === "client-socket")
    return new HostConnectError({
      message: `cannot reach ${host}: ${error.message}`,
      host,
      cause: error,
    });
  return new HostConnectError({
    message: `the SSH connection to ${host} failed${error ? `: ${error.message}` : " before authentication"}`,
    host,
    cause: error,
  });
}
