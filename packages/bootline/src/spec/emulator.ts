/** `defaultEmulator`: the QEMU system emulator for a host architecture. */
import { InvalidArgumentError } from "@qemu-kvm/core";

/** `uname -m` → the QEMU binary that runs guests of that architecture (with KVM, on such a host). */
const EMULATORS: ReadonlyMap<string, string> = new Map([
  ["x86_64", "qemu-system-x86_64"],
  ["amd64", "qemu-system-x86_64"],
  ["i386", "qemu-system-i386"],
  ["i486", "qemu-system-i386"],
  ["i586", "qemu-system-i386"],
  ["i686", "qemu-system-i386"],
  ["aarch64", "qemu-system-aarch64"],
  ["arm64", "qemu-system-aarch64"],
  ["armv7l", "qemu-system-arm"],
  ["armv6l", "qemu-system-arm"],
  ["ppc64le", "qemu-system-ppc64"],
  ["ppc64", "qemu-system-ppc64"],
  ["s390x", "qemu-system-s390x"],
  ["riscv64", "qemu-system-riscv64"],
  ["loongarch64", "qemu-system-loongarch64"],
]);

/**
 * The QEMU binary for a host architecture as `uname -m` prints it: `x86_64` →
 * `qemu-system-x86_64`, `aarch64` (or `arm64`) → `qemu-system-aarch64`, `ppc64le` →
 * `qemu-system-ppc64`, `i686` → `qemu-system-i386`, `armv7l` → `qemu-system-arm`…
 * Throws `ERR_INVALID_ARGUMENT` (field `arch`) for an architecture it does not know.
 */
export function defaultEmulator(arch: string): string {
  const emulator = typeof arch === "string" ? EMULATORS.get(arch) : undefined;
  if (emulator === undefined)
    throw new InvalidArgumentError(
      "arch",
      `a host architecture as uname -m prints it: one of ${[...EMULATORS.keys()].join(", ")}`,
      arch,
    );
  return emulator;
}
