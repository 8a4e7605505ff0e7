/**
 * What the test guest is made of. Any change here (or in any other builder
 * source file) changes the recipe hash, so the next `ensureGuest()` rebuilds.
 */

/** Fixed test credentials and the prompts the guest shows on its serial console. */
export const GUEST_CREDENTIALS = {
  user: "root",
  password: "qemu-kvm",
  /** getty's prompt: `guest login: `. */
  loginPrompt: "login:",
  /** busybox login's prompt after the user name. */
  passwordPrompt: "Password:",
  /**
   * The shell prompt ends with this (`root@guest:~# `). On the raw serial stream
   * busybox's line editor follows it with `ESC[6n` (a cursor position query).
   */
  shellPromptSuffix: "# ",
} as const;

export const GUEST_HOSTNAME = "guest";

/** Resolved through `apt-cache depends` to the real `linux-image-6.1.0-N-amd64`. */
export const KERNEL_METAPACKAGE = "linux-image-amd64";

/**
 * Everything else, by Debian package name. The libraries are those the
 * dynamic programs need (the build checks every `DT_NEEDED` is found).
 */
export const GUEST_PACKAGES = [
  "busybox-static",
  "qemu-guest-agent",
  "dropbear-bin",
  // qemu-ga
  "libc6",
  "libglib2.0-0",
  "libpcre2-8-0",
  "libudev1",
  "libnuma1",
  "liburing2",
  // dropbear
  "libtomcrypt1",
  "libtommath1",
  "libgmp10",
  "zlib1g",
  "libcrypt1",
] as const;

/** Dynamic programs copied into the guest, with their libraries and loader. */
export const GUEST_PROGRAMS = [
  "usr/sbin/qemu-ga",
  "usr/sbin/dropbear",
  "usr/bin/dropbearkey",
] as const;

/**
 * Modules the guest loads, in stages: their dependencies are added and ordered
 * from `depends=`. The NICs come first so DHCP starts early: QEMU's e1000 holds
 * received packets for 1 s after the driver enables its receiver, and that second
 * overlaps with loading the rest.
 */
export const GUEST_MODULE_STAGES = {
  network: ["virtio_pci", "virtio_net", "e1000"],
  agent: ["virtio_console"],
  entropy: ["virtio_rng"],
  // The ACPI power button as an input device, for acpid: `system_powerdown` powers the guest off.
  power: ["button", "evdev"],
} as const;

/** The virtio-serial port name qemu-ga listens on (as QEMU's `virtserialport name=`). */
export const GUEST_AGENT_PORT = "org.qemu.guest_agent.0";

/**
 * The kernel command line. `quiet` keeps the boot log off the serial console
 * (each byte costs an emulated I/O under TCG); `panic=-1` reboots at once on a
 * panic, so with `-no-reboot` a broken guest makes QEMU exit instead of hang.
 * `mitigations=off cryptomgr.notests no_timer_check` skip work that costs about
 * 0.3–0.5 s under TCG (speculation fixups, crypto self-tests, the IO-APIC timer check).
 * `ipv6.disable=1`: IPv6's multicast joins rewrite e1000's receive control, and each
 * rewrite restarts QEMU's 1 s receive hold, so DHCP on e1000 took 2 s instead of 1.
 */
export const KERNEL_APPEND =
  "console=ttyS0,115200 quiet panic=-1 mitigations=off cryptomgr.notests no_timer_check ipv6.disable=1";

/** Comment of the test SSH key (shows in the guest's authorized_keys). */
export const SSH_KEY_COMMENT = "qemu-kvm-test-guest";

/** Fixed salt: the same password gives the same /etc/shadow line on every build. */
export const PASSWORD_SALT = "qemukvmtestguest";
