import type { SshdFixture } from "@qemu-kvm/testkit";
import { fingerprintOf, type SshHostOptions } from "../../src/index.js";

/** Options that log in to a test sshd (key, known hosts file), with `overrides`. */
export function sshOptions(
  sshd: SshdFixture,
  overrides: Partial<SshHostOptions> = {},
): SshHostOptions {
  return {
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    privateKey: sshd.privateKey,
    hostKey: { knownHostsFile: sshd.knownHostsPath },
    ...overrides,
  };
}

/**
 * Options that log in to a test sshd over `sock` (a stream to it, or a function
 * that opens one), its host key pinned from its public key line, with `overrides`.
 */
export function streamOptions(
  sshd: SshdFixture,
  sock: NonNullable<SshHostOptions["sock"]>,
  overrides: Partial<SshHostOptions> = {},
): SshHostOptions {
  return {
    sock,
    host: "guest",
    user: sshd.user,
    privateKey: sshd.privateKey,
    hostKey: { fingerprint: fingerprintOf(sshd.hostPublicKey) },
    ...overrides,
  };
}
