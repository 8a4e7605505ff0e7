/**
 * The wrapper `bin/qemu-system-x86_64` of a fetched QEMU: a script that `exec`s
 * the real binary (same pid) with the entry's firmware and modules, so the name
 * `qemu-system-x86_64` found first on `PATH` is this QEMU, fully. Pure.
 *
 * Why each part:
 * - `-L <root>/usr/share/qemu -L <root>/usr/share/seabios`: Debian builds QEMU
 *   non-relocatable, so without them it reads the system's (7.2's) ROMs and BIOS
 *   from /usr/share/qemu and /usr/share/seabios (`-L help` lists the order).
 * - `QEMU_MODULE_DIR`: else it would try the system's 7.2 modules (which it refuses).
 * - `exec -a qemu-system-x86_64` (bash): `/proc/PID/cmdline` starts with the same
 *   name as a QEMU found on `PATH`, so tools reading it back (bootline's
 *   `parseArgs`, the facade's `find`) see what they see for the system's QEMU.
 */

import { quoteCommand } from "@qemu-kvm/host";

/** One word in POSIX single quotes (host's one quoting function): nothing inside is special to the shell. */
export function shellQuote(text: string): string {
  return quoteCommand([text]);
}

export interface WrapperOptions {
  readonly realBinary: string;
  /** `-L` folders, searched in this order before the built-in ones. */
  readonly dataDirs: readonly string[];
  /** `QEMU_MODULE_DIR`, if the package has modules. */
  readonly moduleDir?: string | undefined;
  /** For the comment: e.g. `10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1) from bookworm-backports`. */
  readonly description: string;
}

/** The wrapper's text (bash, for `exec -a`; bash is essential on Debian). */
export function wrapperScript(options: WrapperOptions): string {
  const dataDirs = options.dataDirs.flatMap((dir) => ["-L", shellQuote(dir)]);
  return [
    "#!/bin/bash",
    `# QEMU ${options.description.replaceAll("\n", " ")},`,
    "# unpacked by @qemu-kvm/test-guest (ensureQemu): its own firmware and modules; exec keeps the pid.",
    ...(options.moduleDir ? [`export QEMU_MODULE_DIR=${shellQuote(options.moduleDir)}`] : []),
    `exec -a qemu-system-x86_64 ${shellQuote(options.realBinary)} ${dataDirs.join(" ")} "$@"`,
    "",
  ].join("\n");
}

/** The folders `qemu-system-x86_64 -L help` lists, in search order. */
export function parseDataDirs(output: string): string[] {
  return output
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.startsWith("/"));
}
