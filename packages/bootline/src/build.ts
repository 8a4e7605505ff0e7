import { formatHostForward } from "./host-forward.js";
import { GUEST_AGENT_PORT_NAME, ids } from "./ids.js";
import { formatOptionList, type OptionEntry } from "./option-list.js";
import { formatGuestSlot } from "./pci-address.js";
import { type Command, pinnedCommand } from "./pin.js";
import type { DevicePlacement, ResolvedNet, ResolvedSpec } from "./resolved-spec.js";
import type { VmSpec } from "./spec.js";
import { resolveOrThrow } from "./validate.js";

/** Internal: a value validation guarantees in strict mode. */
function known<T>(value: T | undefined | "auto", what: string): T {
  if (value === undefined || value === "auto")
    throw new Error(`internal: ${what} unresolved after validation`);
  return value;
}

const onOff = (value: boolean) => (value ? "on" : "off");

function placementEntries(where: DevicePlacement): OptionEntry[] {
  return [
    ...(where.bus !== undefined ? ([["bus", where.bus]] as const) : []),
    ...(where.slot ? ([["addr", formatGuestSlot(where.slot)]] as const) : []),
  ];
}

/** `host:port` as QEMU's address syntax writes it (IPv6 in brackets). */
function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function netArgs(net: ResolvedNet): string[] {
  const args: string[] = [];
  const netdev: OptionEntry[] = [];
  switch (net.type) {
    case "user":
      netdev.push([undefined, "user"], ["id", net.netdevId]);
      for (const forward of net.hostForwards)
        netdev.push([
          "hostfwd",
          formatHostForward({ ...forward, hostPort: known(forward.hostPort, forward.field) }),
        ]);
      break;
    case "tap":
      netdev.push([undefined, "tap"], ["id", net.netdevId]);
      if (net.ifname !== undefined) netdev.push(["ifname", net.ifname]);
      netdev.push(["script", net.script ?? "no"], ["downscript", net.downscript ?? "no"]);
      if (net.vhost) netdev.push(["vhost", "on"]);
      break;
    case "bridge":
      netdev.push([undefined, "bridge"], ["id", net.netdevId], ["br", net.bridge]);
      if (net.helper !== undefined) netdev.push(["helper", net.helper]);
      break;
    case "vhost-user": {
      const chardev: OptionEntry[] = [
        [undefined, "socket"],
        ["id", net.chardevId],
        ["path", net.socketPath],
      ];
      if (net.server) chardev.push(["server", "on"], ["wait", "off"]);
      args.push("-chardev", formatOptionList(chardev));
      netdev.push([undefined, "vhost-user"], ["id", net.netdevId], ["chardev", net.chardevId]);
      if (net.vhostForce) netdev.push(["vhostforce", "on"]);
      if (net.queues > 1) netdev.push(["queues", String(net.queues)]);
      break;
    }
  }
  args.push("-netdev", formatOptionList(netdev));
  const device: OptionEntry[] = [
    [undefined, net.model],
    ["netdev", net.netdevId],
    ["id", net.nicId],
  ];
  if (net.mac !== undefined) device.push(["mac", net.mac]);
  device.push(...placementEntries(net));
  if (net.disableModern !== undefined) device.push(["disable-modern", onOff(net.disableModern)]);
  const own = new Set(net.deviceProperties.map(([key]) => key));
  if (net.type === "vhost-user" && net.queues > 1) {
    // Multiqueue needs the guest to see it: mq, and one MSI-X vector per queue plus config and control.
    if (!own.has("mq")) device.push(["mq", "on"]);
    if (!own.has("vectors")) device.push(["vectors", String(2 * net.queues + 2)]);
  }
  device.push(...net.deviceProperties);
  args.push("-device", formatOptionList(device));
  return args;
}

function socketChardev(id: string, path: string, logPath?: string): string {
  return formatOptionList([
    [undefined, "socket"],
    ["id", id],
    ["path", path],
    ["server", "on"],
    ["wait", "off"],
    ...(logPath !== undefined ? ([["logfile", logPath]] as const) : []),
  ]);
}

function argsOf(spec: ResolvedSpec): string[] {
  const args: string[] = ["-name", formatOptionList([[undefined, spec.name]])];
  if (spec.machine) {
    const machine: OptionEntry[] = [
      ...(spec.machine.type !== undefined ? ([[undefined, spec.machine.type]] as const) : []),
      ...(spec.machine.gicVersion !== undefined
        ? ([["gic-version", spec.machine.gicVersion]] as const)
        : []),
      ...spec.machine.properties,
    ];
    if (machine.length) args.push("-machine", formatOptionList(machine));
  }
  args.push("-accel", spec.accelerator);
  if (!spec.defaultDevices) args.push("-nodefaults");
  if (spec.cpu.model !== undefined) args.push("-cpu", spec.cpu.model);
  if (spec.cpu.count !== undefined) args.push("-smp", String(spec.cpu.count));
  if (spec.memory) {
    const { sizeMiB, backend } = spec.memory;
    args.push("-m", `${sizeMiB}M`);
    if (backend) {
      const object: OptionEntry[] =
        backend.type === "file"
          ? [
              [undefined, "memory-backend-file"],
              ["id", ids.memoryBackend],
              ["size", `${sizeMiB}M`],
              ["mem-path", backend.path],
              ["share", onOff(backend.share)],
              ["prealloc", onOff(backend.prealloc)],
            ]
          : [
              [undefined, "memory-backend-memfd"],
              ["id", ids.memoryBackend],
              ["size", `${sizeMiB}M`],
              ["share", onOff(backend.share)],
              ["hugetlb", onOff(backend.hugepages)],
              ["prealloc", onOff(backend.prealloc)],
            ];
      args.push("-object", formatOptionList(object));
      args.push(
        "-numa",
        formatOptionList([
          [undefined, "node"],
          ["memdev", ids.memoryBackend],
        ]),
      );
    }
  }
  if (spec.pidfile) args.push("-pidfile", known(spec.pidfile.path, "pidfile.path"));
  if (spec.daemonize) args.push("-daemonize");
  if (spec.qmp) {
    args.push("-chardev", socketChardev(ids.qmpChardev, known(spec.qmp.path, "qmp.path")));
    args.push(
      "-mon",
      formatOptionList([
        ["chardev", ids.qmpChardev],
        ["mode", "control"],
      ]),
    );
  }
  if (spec.monitor) {
    args.push(
      "-chardev",
      socketChardev(ids.monitorChardev, known(spec.monitor.path, "monitor.path")),
    );
    args.push(
      "-mon",
      formatOptionList([
        ["chardev", ids.monitorChardev],
        ["mode", "readline"],
      ]),
    );
  }
  if (spec.serial) {
    const serial = spec.serial;
    const logPath = serial.log ? known(serial.log.path, "serial.log.path") : undefined;
    if (serial.type === "unix") {
      args.push(
        "-chardev",
        socketChardev(ids.serialChardev, known(serial.path, "serial.path"), logPath),
      );
    } else {
      args.push(
        "-chardev",
        formatOptionList([
          [undefined, "socket"],
          ["id", ids.serialChardev],
          ["host", serial.host],
          ["port", String(known(serial.port, "serial.port"))],
          ["telnet", onOff(serial.type === "telnet")],
          ["server", "on"],
          ["wait", "off"],
          ...(logPath !== undefined ? ([["logfile", logPath]] as const) : []),
        ]),
      );
    }
    args.push("-serial", `chardev:${ids.serialChardev}`);
  }
  if (spec.display.type === "none") {
    args.push("-display", "none");
  } else {
    const display = known(spec.display.display, "display.display");
    // VNC's display syntax puts an IPv6 host in brackets: [::1]:1.
    args.push("-vnc", formatOptionList([[undefined, hostPort(spec.display.host, display)]]));
    args.push("-vga", spec.display.vga);
  }
  for (const drive of spec.drives) {
    const entries: OptionEntry[] = [["file", drive.path]];
    if (drive.format !== undefined) entries.push(["format", drive.format]);
    if (drive.interface !== undefined) entries.push(["if", drive.interface]);
    if (drive.index !== undefined) entries.push(["index", String(drive.index)]);
    if (drive.media !== undefined) entries.push(["media", drive.media]);
    if (drive.readOnly) entries.push(["readonly", "on"]);
    if (drive.snapshot) entries.push(["snapshot", "on"]);
    if (drive.cache !== undefined) entries.push(["cache", drive.cache]);
    entries.push(["id", drive.id]);
    args.push("-drive", formatOptionList(entries));
  }
  for (const flash of spec.pflash) {
    args.push(
      "-drive",
      formatOptionList([
        ["if", "pflash"],
        ["unit", String(flash.unit)],
        ["format", flash.format],
        ["file", flash.path],
        ...(flash.readOnly ? ([["readonly", "on"]] as const) : []),
        ["id", flash.id],
      ]),
    );
  }
  if (spec.kernel) {
    // -kernel, -initrd and -append take their argument as is: no option-list escaping.
    args.push("-kernel", spec.kernel.path);
    if (spec.kernel.initrdPath !== undefined) args.push("-initrd", spec.kernel.initrdPath);
    if (spec.kernel.commandLine !== undefined) args.push("-append", spec.kernel.commandLine);
  }
  for (const net of spec.nets) args.push(...netArgs(net));
  for (const device of spec.passthrough) {
    args.push(
      "-device",
      formatOptionList([
        [undefined, device.driver],
        ["host", device.host],
        ["id", device.id],
        ...placementEntries(device),
        ...device.deviceProperties,
      ]),
    );
  }
  if (spec.guestAgent) {
    args.push(
      "-chardev",
      socketChardev(ids.guestAgentChardev, known(spec.guestAgent.path, "guestAgent.path")),
    );
    args.push(
      "-device",
      formatOptionList([
        [undefined, "virtio-serial-pci"],
        ["id", ids.virtioSerial],
        ...placementEntries({ ...(spec.guestAgent.slot ? { slot: spec.guestAgent.slot } : {}) }),
      ]),
    );
    args.push(
      "-device",
      formatOptionList([
        [undefined, "virtserialport"],
        ["bus", `${ids.virtioSerial}.0`],
        ["chardev", ids.guestAgentChardev],
        ["name", GUEST_AGENT_PORT_NAME],
        ["id", ids.guestAgentPort],
      ]),
    );
  }
  for (const crypto of spec.crypto) {
    if (crypto.backend === "vhost-user") {
      args.push(
        "-chardev",
        formatOptionList([
          [undefined, "socket"],
          ["id", crypto.chardevId],
          ["path", known(crypto.socketPath, `crypto[${crypto.index}].socketPath`)],
        ]),
      );
      args.push(
        "-object",
        formatOptionList([
          [undefined, "cryptodev-vhost-user"],
          ["id", crypto.backendId],
          ["chardev", crypto.chardevId],
        ]),
      );
    } else {
      args.push(
        "-object",
        formatOptionList([
          [undefined, "cryptodev-backend-builtin"],
          ["id", crypto.backendId],
        ]),
      );
    }
    args.push(
      "-device",
      formatOptionList([
        [undefined, "virtio-crypto-pci"],
        ["id", crypto.deviceId],
        ["cryptodev", crypto.backendId],
        ...placementEntries(crypto),
      ]),
    );
  }
  if (spec.incoming) {
    // -incoming takes a URI, not an option list.
    args.push(
      "-incoming",
      `tcp:${hostPort(spec.incoming.host, known(spec.incoming.port, "incoming.port"))}`,
    );
  }
  args.push(...spec.extraArgs);
  return args;
}

/**
 * The QEMU arguments for a spec (without the program name), in a fixed order:
 * the same spec always gives the same argv. Validates first and throws
 * `InvalidSpecError` listing every problem. Every option-list value is escaped
 * (`,` → `,,`); nothing is ever meant for a shell.
 */
export function buildArgs(spec: VmSpec): string[] {
  return argsOf(resolveOrThrow(spec));
}

export interface BuildCommandOptions {
  /** The `taskset` binary used when `cpu.hostCpus` is set. Default `taskset`. */
  readonly taskset?: string;
}

/**
 * The whole command: `{ file: emulator, args }`, or, when `cpu.hostCpus` is set,
 * `{ file: "taskset", args: ["-c", "3-6", emulator, …] }`. Pass it to a process
 * API that takes a file and argv (never a shell).
 */
export function buildCommand(spec: VmSpec, options: BuildCommandOptions = {}): Command {
  const resolved = resolveOrThrow(spec);
  const args = argsOf(resolved);
  if (resolved.cpu.hostCpus.length === 0) return { file: resolved.emulator, args };
  return pinnedCommand({ file: resolved.emulator, args }, resolved.cpu.hostCpus, options);
}
