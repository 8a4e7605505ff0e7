import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { QEMU } from "./qemu.js";

/** A QEMU the tests run against, and how to start it. */
export interface QemuBuild {
  /** `major.minor`, the key of its schema in `@qemu-kvm/monitor` (`"7.2"`, `"10.0"`). */
  version: string;
  /** The `qemu-system-x86_64` program. */
  binary: string;
  /** Arguments it needs before any other (`-L <firmware dir>` for an unpacked QEMU). */
  args: readonly string[];
}

/** Where QEMU 10.0 is found: `QEMU_KVM_QEMU10_BINARY` (and `QEMU_KVM_QEMU10_DATA_DIR`). */
export const QEMU10_BINARY_VARIABLE = "QEMU_KVM_QEMU10_BINARY";
export const QEMU10_DATA_DIR_VARIABLE = "QEMU_KVM_QEMU10_DATA_DIR";

/** Where the system's QEMU 7.2 is, when `qemu-system-x86_64` by name may be another (the 10.0 test project). */
export const QEMU7_BINARY_VARIABLE = "QEMU_KVM_QEMU7_BINARY";

/** The system QEMU (7.2 on Debian bookworm): `QEMU_KVM_QEMU7_BINARY`, else `QEMU_SYSTEM` or `qemu-system-x86_64`. */
export function qemu7(): QemuBuild {
  return { version: "7.2", binary: process.env[QEMU7_BINARY_VARIABLE] || QEMU, args: [] };
}

/**
 * QEMU 10.0, unpacked from Debian's bookworm-backports (see TOOLCHAIN.md):
 * `QEMU_KVM_QEMU10_BINARY` is its `usr/bin/qemu-system-x86_64`; its firmware
 * directory is `QEMU_KVM_QEMU10_DATA_DIR`, by default `../share/qemu` beside
 * the binary's directory. Throws (tests fail, they do not skip) when it is
 * not set: the tests must run against both QEMUs.
 */
export function qemu10(): QemuBuild {
  const binary = process.env[QEMU10_BINARY_VARIABLE];
  if (!binary || !existsSync(binary))
    throw new Error(
      `QEMU 10.0 is needed: set ${QEMU10_BINARY_VARIABLE} to its qemu-system-x86_64 (${binary ? `${binary} does not exist` : "unset"}). ` +
        "Unpack it from bookworm-backports: apt-get download qemu-system-x86 qemu-system-common qemu-system-data seabios (from a sources list naming only bookworm-backports), then dpkg -x each into one directory.",
    );
  const dataDir =
    process.env[QEMU10_DATA_DIR_VARIABLE] ?? join(dirname(binary), "..", "share", "qemu");
  return { version: "10.0", binary, args: existsSync(dataDir) ? ["-L", dataDir] : [] };
}

/** Both QEMUs, oldest first. Throws when QEMU 10.0 is missing (see {@link qemu10}). */
export function qemuBuilds(): QemuBuild[] {
  return [qemu7(), qemu10()];
}
