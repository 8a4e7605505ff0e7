// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are shell scripts, not templates
/**
 * The guest's own files: /init, busybox init's inittab and boot scripts, the
 * DHCP hook, /sbin/shutdown for qemu-ga, users and the SSH key. Pure: the
 * initramfs builder writes them.
 */
import { GUEST_AGENT_PORT, GUEST_CREDENTIALS, GUEST_HOSTNAME } from "./recipe.js";

export type TreeEntry =
  | { kind: "file"; path: string; mode: number; content: string }
  | { kind: "directory"; path: string; mode: number }
  | { kind: "symlink"; path: string; target: string };

export interface GuestFilesInput {
  /**
   * Module names by stage, each in load order (`/lib/modules/NAME.ko` in the guest):
   * the network starts after `network`, the agent after `agent`, SSH after `entropy`.
   */
  moduleStages: Readonly<Record<"network" | "agent" | "entropy" | "power", readonly string[]>>;
  /** `$6$…` hash of the root password. */
  passwordHash: string;
  /** One `authorized_keys` line. */
  authorizedKey: string;
  /** For /etc/issue. */
  kernelVersion: string;
}

const script = (lines: readonly string[]) => `${lines.join("\n")}\n`;

/** PID 1: the kernel's filesystems, a console on stdio, then busybox init. */
const INIT = script([
  "#!/bin/sh",
  "# PID 1 of the qemu-kvm test guest.",
  "mount -t proc proc /proc",
  "mount -t sysfs sysfs /sys",
  "mount -t devtmpfs devtmpfs /dev",
  // The kernel could not open /dev/console before devtmpfs existed: do it now.
  "exec </dev/console >/dev/console 2>&1",
  "mkdir -p /dev/pts /dev/shm",
  "mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts",
  "mount -t tmpfs -o mode=1777 tmpfs /dev/shm",
  "mount -t tmpfs -o mode=755 tmpfs /run",
  // Kernel messages off the console from here on (tests can still write /dev/kmsg).
  "dmesg -n 1",
  "exec /sbin/init",
]);

const INITTAB = script([
  "# busybox init: getty waits for sysinit, which starts the slow services in the background.",
  "::sysinit:/etc/init.d/rcS",
  "ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100",
  "::ctrlaltdel:/sbin/reboot",
  "::shutdown:/bin/sync",
]);

const RCS = script([
  "#!/bin/sh",
  `hostname ${GUEST_HOSTNAME}`,
  "ip link set lo up",
  "mkdir -p /run/qemu-ga /etc/dropbear",
  "/etc/init.d/services </dev/null >/run/boot.log 2>&1 &",
]);

function services(stages: GuestFilesInput["moduleStages"]): string {
  const load = (modules: readonly string[]) =>
    modules.length === 0
      ? []
      : [
          `for module in ${modules.join(" ")}; do`,
          '  insmod "/lib/modules/$module.ko" || echo "insmod $module failed"',
          "done",
        ];
  return script([
    "#!/bin/sh",
    "# In the background of sysinit: each service right after its modules (in dependency order).",
    "# /run/boot.log has each step with the guest's uptime.",
    'stamp() { read -r up _ </proc/uptime; echo "[$up] $*"; }',
    "stamp services",
    ...load(stages.network),
    "/etc/init.d/network &",
    ...load(stages.agent),
    "/etc/init.d/guest-agent &",
    ...load(stages.entropy),
    ...load(stages.power),
    // The power button (QMP system_powerdown) runs /etc/acpi/PWRF/00000080, as a real guest would power off.
    "acpid -c /etc/acpi",
    "stamp modules loaded",
    // The ed25519 host key (what SSH clients ask for first) exists from boot, so a
    // controller can read and pin it before connecting; -R makes other types on use.
    "dropbearkey -t ed25519 -f /etc/dropbear/dropbear_ed25519_host_key >/dev/null 2>&1",
    // Forks into the background once listening.
    "dropbear -R -p 22 -P /run/dropbear.pid",
    "stamp dropbear started",
  ]);
}

const GUEST_AGENT = script([
  "#!/bin/sh",
  "# No udev here: find the virtio-serial port by name, link it where qemu-ga looks, run qemu-ga.",
  `name=${GUEST_AGENT_PORT}`,
  "# No virtio-serial device at all: nothing to wait for.",
  'ls /sys/bus/virtio/drivers/virtio_console/ 2>/dev/null | grep -q "^virtio" || exit 0',
  "tries=0",
  "while [ $tries -lt 500 ]; do",
  "  for port in /sys/class/virtio-ports/*; do",
  '    if [ "$(cat "$port/name" 2>/dev/null)" = "$name" ]; then',
  "      mkdir -p /dev/virtio-ports",
  '      ln -sf "../${port##*/}" "/dev/virtio-ports/$name"',
  '      read -r up _ </proc/uptime; echo "[$up] qemu-ga on ${port##*/}"',
  '      exec qemu-ga -m virtio-serial -p "/dev/virtio-ports/$name" -t /run/qemu-ga',
  "    fi",
  "  done",
  "  tries=$((tries + 1))",
  "  usleep 10000",
  "done",
  'echo "no virtio-serial port named $name"',
]);

const NETWORK = script([
  "#!/bin/sh",
  "# Every NIC: up, wait for carrier (e1000 links late), then DHCP from QEMU's user network.",
  "for path in /sys/class/net/*; do",
  '  dev="${path##*/}"',
  '  [ "$dev" = lo ] && continue',
  "  (",
  '    ip link set "$dev" up',
  "    tries=0",
  '    while [ "$(cat "$path/carrier" 2>/dev/null)" != 1 ] && [ $tries -lt 1000 ]; do',
  "      tries=$((tries + 1))",
  "      usleep 10000",
  "    done",
  '    read -r up _ </proc/uptime; echo "[$up] $dev has carrier"',
  '    exec udhcpc -f -i "$dev" -s /etc/udhcpc.script -t 20 -T 1 -A 1',
  "  ) &",
  "done",
]);

/** busybox udhcpc's hook. `ip` (netlink), not ifconfig: ifconfig resets e1000's rx mode. */
const UDHCPC_SCRIPT = script([
  "#!/bin/sh",
  "# $1: deconfig | bound | renew | leasefail | nak; the lease is in the environment.",
  'case "$1" in',
  "deconfig)",
  '  ip -4 addr flush dev "$interface"',
  '  ip link set "$interface" up',
  "  ;;",
  "bound | renew)",
  '  if ! ip -4 addr show dev "$interface" | grep -q "inet $ip/"; then',
  '    ip -4 addr flush dev "$interface"',
  '    ip addr add "$ip/${mask:-24}" dev "$interface"',
  "  fi",
  '  if [ -n "$router" ]; then',
  '    ip route del default dev "$interface" 2>/dev/null',
  "    for gateway in $router; do",
  '      ip route add default via "$gateway" dev "$interface" && break',
  "    done",
  "  fi",
  '  read -r up _ </proc/uptime; echo "[$up] $interface has $ip"',
  "  : >/etc/resolv.conf",
  '  for server in $dns; do echo "nameserver $server" >>/etc/resolv.conf; done',
  "  ;;",
  "esac",
  "exit 0",
]);

/** qemu-ga's guest-shutdown runs `shutdown -h -P +0 "…"`, `-h -H` or `-r`; busybox has none. */
const SHUTDOWN = script([
  "#!/bin/sh",
  "# shutdown for qemu-ga: -P/-h power off (default), -H halt, -r reboot; the time is ignored.",
  "action=poweroff",
  'for argument in "$@"; do',
  '  case "$argument" in',
  "  -r) action=reboot ;;",
  "  -H) action=halt ;;",
  "  -P) action=poweroff ;;",
  "  esac",
  "done",
  'exec "/sbin/$action"',
]);

const PROFILE = script([
  "export PATH=/sbin:/usr/sbin:/bin:/usr/bin",
  "export PS1='\\u@\\h:\\w\\$ '",
  "# The serial tty reports 0x0: without this, long echoed commands wrap at 80 columns.",
  "[ -t 0 ] && stty cols 500 rows 50 2>/dev/null",
]);

export function guestFiles(input: GuestFilesInput): TreeEntry[] {
  const { user } = GUEST_CREDENTIALS;
  const directories: Array<[string, number]> = [
    ["dev", 0o755],
    ["proc", 0o555],
    ["sys", 0o555],
    ["run", 0o755],
    ["tmp", 0o1777],
    ["etc", 0o755],
    ["etc/init.d", 0o755],
    ["etc/dropbear", 0o700],
    ["etc/acpi", 0o755],
    ["etc/acpi/PWRF", 0o755],
    ["root", 0o700],
    ["root/.ssh", 0o700],
    ["var", 0o755],
    ["var/log", 0o755],
    ["lib/modules", 0o755],
  ];
  const files: Array<[string, number, string]> = [
    ["init", 0o755, INIT],
    ["etc/inittab", 0o644, INITTAB],
    ["etc/init.d/rcS", 0o755, RCS],
    ["etc/init.d/services", 0o755, services(input.moduleStages)],
    ["etc/init.d/guest-agent", 0o755, GUEST_AGENT],
    ["etc/init.d/network", 0o755, NETWORK],
    ["etc/udhcpc.script", 0o755, UDHCPC_SCRIPT],
    ["sbin/shutdown", 0o755, SHUTDOWN],
    ["etc/acpi/PWRF/00000080", 0o755, "#!/bin/sh\nexec poweroff\n"],
    ["etc/profile", 0o644, PROFILE],
    ["etc/hostname", 0o644, `${GUEST_HOSTNAME}\n`],
    ["etc/hosts", 0o644, `127.0.0.1\tlocalhost\n127.0.1.1\t${GUEST_HOSTNAME}\n`],
    ["etc/issue", 0o644, `qemu-kvm test guest (Linux ${input.kernelVersion}) on \\l\n\n`],
    ["etc/passwd", 0o644, `${user}:x:0:0:${user}:/root:/bin/sh\n`],
    ["etc/shadow", 0o600, `${user}:${input.passwordHash}:19000:0:99999:7:::\n`],
    ["etc/group", 0o644, "root:x:0:\ntty:x:5:\n"],
    ["etc/shells", 0o644, "/bin/sh\n/bin/ash\n"],
    ["etc/nsswitch.conf", 0o644, "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"],
    ["etc/resolv.conf", 0o644, ""],
    ["root/.ssh/authorized_keys", 0o600, `${input.authorizedKey}\n`],
  ];
  return [
    ...directories.map(([path, mode]): TreeEntry => ({ kind: "directory", path, mode })),
    { kind: "symlink", path: "var/run", target: "../run" },
    ...files.map(([path, mode, content]): TreeEntry => ({ kind: "file", path, mode, content })),
  ];
}
