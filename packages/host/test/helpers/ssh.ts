import type { SshdFixture } from "@qemu-kvm/testkit";
import type { SshHostOptions } from "../../src/index.js";

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
