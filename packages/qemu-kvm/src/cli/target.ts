/** The host a verb works on: this machine, or an SSH host checked against the user's known hosts. */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { CallOptions } from "@qemu-kvm/core";
import { connectSshHost, createLocalHost, type Host } from "@qemu-kvm/host";
import type { PoolOptions } from "@qemu-kvm/pool";
import { CommandLineError } from "./errors.js";
import type { Target } from "./invocation.js";
import type { Env } from "./io.js";

/** The keys OpenSSH's client tries by default, in its order (those that exist). */
const DEFAULT_KEYS = ["id_ed25519", "id_ecdsa", "id_rsa"];

function defaultKey(): string | undefined {
  return DEFAULT_KEYS.map((name) => join(homedir(), ".ssh", name)).find((path) => existsSync(path));
}

/**
 * Connects to the target: ssh-agent (when `SSH_AUTH_SOCK` is set) and a key
 * file (`--identity`, else the first default key), the host key checked
 * against `--known-hosts` (default `~/.ssh/known_hosts`). Never asks a question.
 */
export async function openHost(target: Target, env: Env, options: CallOptions): Promise<Host> {
  const ssh = target.ssh;
  if (!ssh) return createLocalHost();
  const key = target.identity ?? defaultKey();
  if (key === undefined && !env.SSH_AUTH_SOCK)
    throw new CommandLineError({
      field: "--identity",
      message: `--host ${ssh.host} needs a way to log in: ssh-agent (SSH_AUTH_SOCK), --identity FILE, or a key in ~/.ssh (${DEFAULT_KEYS.join(", ")})`,
    });
  return connectSshHost({
    host: ssh.host,
    ...(ssh.port !== undefined ? { port: ssh.port } : {}),
    ...(ssh.user !== undefined ? { user: ssh.user } : {}),
    ...(env.SSH_AUTH_SOCK ? { agent: env.SSH_AUTH_SOCK } : {}),
    ...(key !== undefined ? { privateKeyFile: key } : {}),
    hostKey: { knownHostsFile: target.knownHosts ?? join(homedir(), ".ssh", "known_hosts") },
    ...options,
  });
}

/** The pool's options for the target (its state directory, when given). */
export function poolOptionsOf(target: Target): PoolOptions | undefined {
  return target.poolDir === undefined ? undefined : { stateDir: target.poolDir };
}

/** Runs `work` with the target's host, closed afterwards (destroyed if closing fails). */
export async function withHost<T>(
  target: Target,
  env: Env,
  signal: AbortSignal,
  work: (host: Host) => Promise<T>,
): Promise<T> {
  const host = await openHost(target, env, { signal });
  try {
    return await work(host);
  } finally {
    await host.close().catch(() => host.destroy());
  }
}
