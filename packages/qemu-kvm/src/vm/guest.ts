/**
 * `vm.guest()`: the guest as a `Host` of `@qemu-kvm/host`, over SSH to its
 * forwarded port, reached through the VM's host (a local TCP connection, or a
 * forwarded one over the SSH connection to a lab host).
 */

import { parseSshHostKey } from "@qemu-kvm/control";
import { type CallOptions, InvalidArgumentError } from "@qemu-kvm/core";
import { connectSshHost, type HostKeyPolicy, type SshHost } from "@qemu-kvm/host";
import { VmStateError } from "../errors.js";
import type { ResolvedVmOptions } from "./options.js";
import type { VmSession } from "./session.js";

export interface GuestOptions extends CallOptions {}

/** Where guests keep their ed25519 host key: OpenSSH's public half, dropbear's key file. */
const HOST_KEY_FILES = [
  "/etc/ssh/ssh_host_ed25519_key.pub",
  "/etc/dropbear/dropbear_ed25519_host_key",
];

/**
 * The guest's SSH host key, read over the control channel (already trusted:
 * its login checked the guest's UUID) and pinned by fingerprint. Only the
 * public half is kept (`parseSshHostKey`).
 */
async function guestHostKey(session: VmSession, options: CallOptions): Promise<HostKeyPolicy> {
  const channel = session.channel;
  if (!channel)
    throw new VmStateError({
      vm: session.record.name,
      state: "running",
      operation: "guest",
      expected: "booted, with a control channel",
    });
  for (const file of HOST_KEY_FILES) {
    const result = await channel.run(`cat ${file}`, options);
    if (result.exitCode === 0 && result.outputBytes.length > 0)
      return { fingerprint: parseSshHostKey(result.outputBytes).fingerprint };
  }
  throw new InvalidArgumentError("options.guestSsh.hostKey", "a host key policy", "from-guest", {
    problem: `found no ed25519 SSH host key in guest ${session.record.name} (${HOST_KEY_FILES.join(", ")}): give guestSsh.hostKey`,
  });
}

export async function connectGuest(
  session: VmSession,
  vm: ResolvedVmOptions,
  options: GuestOptions = {},
): Promise<SshHost> {
  const address = session.record.ssh;
  if (!address)
    throw new VmStateError({
      vm: vm.name,
      state: "running",
      operation: "guest",
      expected: "a VM with a host forward to its SSH port",
    });
  const ssh = vm.guestSsh;
  const hostKey =
    ssh.hostKey === undefined || ssh.hostKey === "from-guest"
      ? await guestHostKey(session, options)
      : ssh.hostKey;
  const password = ssh.password ?? (ssh.privateKey ? undefined : vm.login.password);
  return connectSshHost({
    host: vm.name,
    user: ssh.user ?? vm.login.user,
    ...(password !== undefined ? { password } : {}),
    ...(ssh.privateKey !== undefined ? { privateKey: ssh.privateKey } : {}),
    hostKey,
    sock: () => session.host.connectTcp(address.host, address.port, options),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
}
