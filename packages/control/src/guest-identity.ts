import { InvalidArgumentError } from "@qemu-kvm/core";

/**
 * How the serial console makes sure the shell it logged into is the guest's.
 *
 * A console reached through a relay (a host shell running telnet or socat,
 * as the DTS reference did) can silently end up in the host's shell when the
 * relay dies; every command would then run on the host. After logging in, the
 * console runs the identity command and refuses the shell unless `accepts`
 * says yes.
 *
 * What to check, from weakest to strongest:
 * - `qemuDmiVendor()` (the default): the DMI system vendor is `QEMU`. Tells a
 *   QEMU guest from bare metal, but not from a host that is itself a QEMU VM
 *   (many CI machines are), and needs DMI (not `-M microvm`).
 * - `guestHostname(name)`: only as unique as the names you give.
 * - `dmiProductUuid(uuid)`: start QEMU with `-uuid UUID` (a fresh random one
 *   per VM) and check `/sys/class/dmi/id/product_uuid` (root-readable). Unique to
 *   this VM: recommended whenever you launch QEMU yourself.
 */
export interface GuestIdentity {
  /** For errors, e.g. `DMI system vendor is "QEMU"`. */
  description: string;
  /** A shell command whose output identifies the machine. */
  command: string;
  /**
   * When the identity is a file's first line (what `command` prints): that file,
   * read at login with the shell's own `read`, so the check runs no program (each
   * is a fork and an exec: tens of milliseconds on a TCG guest). An absolute path
   * of letters, digits, `.`, `_`, `-` and `/`.
   */
  file?: string;
  /** True when the command's exit code and output (trimmed) identify the expected guest. */
  accepts(output: string, exitCode: number): boolean;
}

/** The default check: `/sys/class/dmi/id/sys_vendor` is `QEMU`. */
export function qemuDmiVendor(): GuestIdentity {
  return {
    description: 'DMI system vendor is "QEMU"',
    command: "cat /sys/class/dmi/id/sys_vendor",
    file: "/sys/class/dmi/id/sys_vendor",
    accepts: (output, exitCode) => exitCode === 0 && output === "QEMU",
  };
}

/** `/sys/class/dmi/id/product_uuid` is `uuid` (QEMU's `-uuid`); needs root in the guest. */
export function dmiProductUuid(uuid: string): GuestIdentity {
  if (
    typeof uuid !== "string" ||
    !/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(uuid)
  )
    throw new InvalidArgumentError("uuid", "a UUID (8-4-4-4-12 hexadecimal digits)", uuid);
  return {
    description: `DMI product UUID is ${uuid}`,
    command: "cat /sys/class/dmi/id/product_uuid",
    file: "/sys/class/dmi/id/product_uuid",
    accepts: (output, exitCode) => exitCode === 0 && output.toLowerCase() === uuid.toLowerCase(),
  };
}

/** The guest's host name (`/proc/sys/kernel/hostname`) is `name`. */
export function guestHostname(name: string): GuestIdentity {
  if (typeof name !== "string" || !/^[A-Za-z0-9.-]+$/.test(name))
    throw new InvalidArgumentError("name", "a host name (letters, digits, '.' and '-')", name);
  return {
    description: `host name is ${JSON.stringify(name)}`,
    command: "cat /proc/sys/kernel/hostname",
    file: "/proc/sys/kernel/hostname",
    accepts: (output, exitCode) => exitCode === 0 && output === name,
  };
}

/** Throws `ERR_INVALID_ARGUMENT` unless `value` is a `GuestIdentity` (or `false`, or absent). */
/** A path the login line may name unquoted. */
const IDENTITY_FILE = /^\/[A-Za-z0-9._/-]{1,199}$/;

export function checkGuestIdentity(value: unknown, field: string): void {
  if (value === undefined || value === false) return;
  const identity = value as Partial<GuestIdentity> | null;
  if (
    typeof identity !== "object" ||
    identity === null ||
    typeof identity.description !== "string" ||
    typeof identity.command !== "string" ||
    typeof identity.accepts !== "function"
  )
    throw new InvalidArgumentError(
      field,
      "false or a GuestIdentity { description, command, file?, accepts(output, exitCode) }",
      value,
    );
  if (identity.file !== undefined && !IDENTITY_FILE.test(String(identity.file)))
    throw new InvalidArgumentError(
      `${field}.file`,
      "an absolute path of letters, digits, '.', '_', '-' and '/' (at most 200 characters)",
      identity.file,
    );
}
