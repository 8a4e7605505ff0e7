/**
 * Where a host keeps its VMs' runtime files: a per-host base directory that
 * every process of this library finds again, and under it one private
 * directory per VM, named after the VM.
 *
 *   root:      /run/qemu-kvm/vms/<name>/
 *   others:    $XDG_RUNTIME_DIR/qemu-kvm/vms/<name>/  (or /tmp/qemu-kvm-<uid>/vms/<name>/)
 *
 * Each directory is 0700 and owned by the user running QEMU: other local users
 * can neither read a VM's sockets (its console is a root shell once logged in)
 * nor plant files in it.
 */
import type { CallOptions } from "@qemu-kvm/core";
import type { Host } from "@qemu-kvm/host";

/** The file names inside a VM's directory (bootline's defaults where it has them). */
export const RUNTIME_FILES = {
  record: "vm.json",
  pidfile: "qemu.pid",
  qmp: "qmp.sock",
  serial: "serial.sock",
  serialLog: "serial.log",
  guestAgent: "qga.sock",
  incoming: "incoming.sock",
} as const;

/** The per-host base directory for a host's user: see the module comment. */
export async function defaultRuntimeBase(host: Host, options: CallOptions = {}): Promise<string> {
  const uid = (await host.exec("id", ["-u"], options)).stdout.trim();
  if (uid === "0") return "/run/qemu-kvm";
  const xdg = await host.exec("printenv", ["XDG_RUNTIME_DIR"], { ...options, reject: false });
  const dir = xdg.exitCode === 0 ? xdg.stdout.trim() : "";
  return dir.startsWith("/") ? `${dir}/qemu-kvm` : `/tmp/qemu-kvm-${uid}`;
}

/** The directory holding every VM's directory. */
export function vmsDir(base: string): string {
  return `${base}/vms`;
}

/** The private directory of VM `name`. */
export function vmDir(base: string, name: string): string {
  return `${vmsDir(base)}/${name}`;
}
