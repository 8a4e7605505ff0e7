/**
 * The QEMU arguments (without the binary) that boot the test guest. Pure:
 * validates every option first and throws `InvalidGuestOptionError` synchronously.
 */
import { InvalidGuestOptionError } from "./errors.js";
import { GUEST_AGENT_PORT } from "./recipe.js";

export type GuestMachine = "q35" | "pc";
export type GuestNic = "virtio-net-pci" | "e1000" | "none";

/** A `hostfwd` rule: bootline's `HostForward` words (without its guest address). */
export interface HostForward {
  /** Port on the host (1–65535). */
  hostPort: number;
  /** Port in the guest, e.g. 22. */
  guestPort: number;
  /** Host address to bind. Default `127.0.0.1`. */
  hostAddress?: string;
  /** Default `tcp`. */
  protocol?: "tcp" | "udp";
}

/** A file QEMU writes: bootline's `RuntimeFileSpec`, with the path required (no runtime dir here). */
export interface GuestFile {
  path: string;
}

/** The guest's ttyS0 as a QEMU socket server, in bootline's `SerialSpec` words. */
export type GuestSerial =
  | {
      type: "unix";
      /** Socket path, at most 107 bytes. */
      path: string;
      /** QEMU also writes everything the guest prints to `log.path`, from the first byte. */
      log?: GuestFile;
      /** Hold the machine until a client connects (`wait=on`), so nothing is missed. Default false. */
      wait?: boolean;
    }
  | {
      type: "telnet";
      port: number;
      /** Default `127.0.0.1`. */
      host?: string;
      log?: GuestFile;
      wait?: boolean;
    };

/** Options shared with bootline's `VmSpec` use its words: `machine.type`, `memory.sizeMiB`, `cpu.count`, `serial`, `qmp`, `guestAgent`. */
export interface GuestQemuOptions {
  /** Default `{ type: "q35" }`. */
  machine?: { type: GuestMachine };
  /** Default `{ sizeMiB: 256 }`. */
  memory?: { sizeMiB: number };
  /** Default `{ count: 1 }`. */
  cpu?: { count: number };
  /** NIC model on QEMU's user network (DHCP gives the guest 10.0.2.15). Default `virtio-net-pci`. */
  nic?: GuestNic;
  /** `hostfwd` rules of the user network, e.g. `{ hostPort: 10022, guestPort: 22 }`. */
  hostForwards?: readonly HostForward[];
  serial?: GuestSerial;
  /** The guest agent's chardev on a unix socket (virtio-serial port `org.qemu.guest_agent.0`). */
  guestAgent?: GuestFile;
  /** A QMP monitor on a unix socket. */
  qmp?: GuestFile;
  /** Boot the uncompressed ELF (default, ~3 s faster under TCG) or Debian's compressed bzImage. */
  kernel?: "vmlinux" | "vmlinuz";
  /** Add `-no-reboot`: a reboot (or a kernel panic) makes QEMU exit. Default false. */
  noReboot?: boolean;
  /** Appended to the guest's kernel command line. */
  extraAppend?: string;
}

export interface GuestBootFiles {
  kernelPath: string;
  compressedKernelPath: string;
  initrdPath: string;
  append: string;
}

/** QEMU's limit: `sun_path` is 108 bytes with the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

/** A value inside a QEMU `key=value,…` option: `,` is written `,,`. */
export function escapeOptionValue(value: string): string {
  return value.replaceAll(",", ",,");
}

function fail(option: string, message: string): never {
  throw new InvalidGuestOptionError(`${option}: ${message}`, option);
}

function checkSocketPath(option: string, path: string): void {
  if (typeof path !== "string" || path.length === 0 || path.includes("\0"))
    fail(option, "must be a non-empty path without NUL");
  const bytes = Buffer.byteLength(path, "utf8");
  if (bytes > MAX_SOCKET_PATH_BYTES)
    fail(
      option,
      `${bytes} bytes is longer than QEMU's ${MAX_SOCKET_PATH_BYTES}-byte limit: ${path}`,
    );
}

function checkPath(option: string, path: string): void {
  if (typeof path !== "string" || path.length === 0 || path.includes("\0"))
    fail(option, "must be a non-empty path without NUL");
}

function checkPort(option: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    fail(option, `must be an integer port in 1…65535, not ${port}`);
}

function checkHost(option: string, host: string): void {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255))
    fail(option, `must be an IPv4 address, not ${JSON.stringify(host)}`);
}

function serialArgs(serial: GuestSerial): string[] {
  const common = `server=on,wait=${serial.wait ? "on" : "off"}`;
  let backend: string;
  if (serial.type === "unix") {
    checkSocketPath("serial.path", serial.path);
    backend = `socket,id=serial0,path=${escapeOptionValue(serial.path)},${common}`;
  } else if (serial.type === "telnet") {
    checkPort("serial.port", serial.port);
    const host = serial.host ?? "127.0.0.1";
    checkHost("serial.host", host);
    backend = `socket,id=serial0,host=${host},port=${serial.port},telnet=on,${common}`;
  } else {
    return fail("serial.type", `must be "unix" or "telnet"`);
  }
  if (serial.log !== undefined) {
    checkPath("serial.log.path", serial.log.path);
    backend += `,logfile=${escapeOptionValue(serial.log.path)}`;
  }
  return ["-chardev", backend, "-serial", "chardev:serial0"];
}

function networkArgs(nic: GuestNic, forwards: readonly HostForward[]): string[] {
  if (nic === "none") {
    if (forwards.length > 0) fail("hostForwards", 'need a NIC: nic is "none"');
    return [];
  }
  const rules = forwards.map((forward, index) => {
    const option = `hostForwards[${index}]`;
    checkPort(`${option}.hostPort`, forward.hostPort);
    checkPort(`${option}.guestPort`, forward.guestPort);
    const address = forward.hostAddress ?? "127.0.0.1";
    checkHost(`${option}.hostAddress`, address);
    const protocol = forward.protocol ?? "tcp";
    if (protocol !== "tcp" && protocol !== "udp")
      fail(`${option}.protocol`, `must be "tcp" or "udp", not ${JSON.stringify(protocol)}`);
    return `,hostfwd=${protocol}:${address}:${forward.hostPort}-:${forward.guestPort}`;
  });
  // romfile= : the kernel is booted directly, so the NIC's PXE option ROM is dead weight.
  let device: string;
  if (nic === "virtio-net-pci") device = "virtio-net-pci,netdev=net0,romfile=";
  // Without autonegotiation=off, QEMU's e1000 takes about 2 s to bring its link up.
  else if (nic === "e1000") device = "e1000,netdev=net0,autonegotiation=off,romfile=";
  else
    return fail("nic", `must be "virtio-net-pci", "e1000" or "none", not ${JSON.stringify(nic)}`);
  return ["-netdev", `user,id=net0${rules.join("")}`, "-device", device];
}

/** The argv (after the QEMU binary) that boots the guest under TCG. */
export function guestQemuArgs(files: GuestBootFiles, options: GuestQemuOptions = {}): string[] {
  const machine = options.machine?.type ?? "q35";
  if (machine !== "q35" && machine !== "pc")
    fail("machine.type", `must be "q35" or "pc", not ${JSON.stringify(machine)}`);
  const memoryMiB = options.memory?.sizeMiB ?? 256;
  if (!Number.isInteger(memoryMiB) || memoryMiB < 128)
    fail("memory.sizeMiB", `must be an integer of at least 128, not ${memoryMiB}`);
  const cpus = options.cpu?.count ?? 1;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 64)
    fail("cpu.count", `must be an integer in 1…64, not ${cpus}`);
  const kernel = options.kernel ?? "vmlinux";
  if (kernel !== "vmlinux" && kernel !== "vmlinuz")
    fail("kernel", `must be "vmlinux" or "vmlinuz", not ${JSON.stringify(kernel)}`);
  if (options.extraAppend?.includes("\0")) fail("extraAppend", "must not contain NUL");
  // On pc (PIIX), enabling each PCI device evaluates an ACPI interrupt link, ~0.3 s
  // apiece under TCG: about 0.9 s before the network is up. The PIRQ table is instant.
  const machineAppend = machine === "pc" ? " pci=noacpi" : "";
  const append = `${files.append}${machineAppend}${options.extraAppend ? ` ${options.extraAppend}` : ""}`;

  const argv = [
    "-accel",
    "tcg",
    "-machine",
    machine,
    "-m",
    String(memoryMiB),
    "-smp",
    String(cpus),
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-kernel",
    kernel === "vmlinux" ? files.kernelPath : files.compressedKernelPath,
    "-initrd",
    files.initrdPath,
    "-append",
    append,
  ];
  if (options.noReboot) argv.push("-no-reboot");
  if (options.serial) argv.push(...serialArgs(options.serial));
  if (options.qmp !== undefined) {
    checkSocketPath("qmp.path", options.qmp.path);
    argv.push(
      "-chardev",
      `socket,id=qmp0,path=${escapeOptionValue(options.qmp.path)},server=on,wait=off`,
      "-mon",
      "chardev=qmp0,mode=control",
    );
  }
  // Entropy: without it the first SSH connection waits about 1 s for the random pool.
  argv.push("-device", "virtio-rng-pci");
  if (options.guestAgent !== undefined) {
    checkSocketPath("guestAgent.path", options.guestAgent.path);
    argv.push(
      "-chardev",
      `socket,id=qga0,path=${escapeOptionValue(options.guestAgent.path)},server=on,wait=off`,
      "-device",
      "virtio-serial-pci,id=virtio-serial0",
      "-device",
      `virtserialport,bus=virtio-serial0.0,chardev=qga0,name=${GUEST_AGENT_PORT}`,
    );
  }
  argv.push(...networkArgs(options.nic ?? "virtio-net-pci", options.hostForwards ?? []));
  return argv;
}
