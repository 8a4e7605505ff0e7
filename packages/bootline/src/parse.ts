import { parseCpuList } from "./cpu-list.js";
import {
  assembleFacts,
  type Endpoint,
  type HostForwardFacts,
  type OtherBackend,
  type PassthroughFacts,
  passthroughFacts,
  type SerialFacts,
  type SocketUser,
  type VmFacts,
} from "./facts.js";
import { parseHostForward } from "./host-forward.js";
import { GUEST_AGENT_PORT_NAME } from "./ids.js";
import {
  allOptions,
  lastOption,
  type OptionPart,
  parseOnOff,
  splitOptionList,
} from "./option-list.js";
import { formatPciAddress, parseGuestSlot, parsePciAddress } from "./pci-address.js";
import { VNC_BASE_PORT } from "./resolved-spec.js";

/** QEMU 7.2 options that take no argument (every other option takes exactly one). */
const FLAGS = new Set([
  "S",
  "s",
  "snapshot",
  "nographic",
  "daemonize",
  "enable-kvm",
  "no-kvm",
  "no-reboot",
  "no-shutdown",
  "nodefaults",
  "nodefconfig",
  "no-user-config",
  "no-hpet",
  "no-acpi",
  "no-fd-bootchk",
  "win2k-hack",
  "full-screen",
  "usb",
  "version",
  "h",
  "help",
  "mem-prealloc",
  "enable-sync-profile",
  "only-migratable",
  "preconfig",
  "singlestep",
  "portrait",
  "xen-attach",
  "xen-domid-restrict",
  "async-teardown",
  "audio-help",
  "alt-grab",
  "ctrl-grab",
  "no-quit",
  "curses",
  "sdl",
  "no-frame",
  "semihosting",
  "enable-fips",
  "old-param",
]);

const PASSTHROUGH_DRIVERS = new Set([
  "vfio-pci",
  "vfio-pci-nohotplug",
  "pci-assign",
  "kvm-pci-assign",
]);

/**
 * Splits `/proc/PID/cmdline` (arguments separated and terminated by NUL bytes)
 * into argv.
 */
export function splitProcCmdline(text: string): string[] {
  const parts = text.split("\0");
  if (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  return parts;
}

interface Chardev {
  readonly backend: string;
  readonly parts: readonly OptionPart[];
}

/** A `host:port` address with an optional `[v6]` host. Empty host: all interfaces. */
function splitHostPort(text: string): { host: string; port: number } | undefined {
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end < 0 || text[end + 1] !== ":") return undefined;
    host = text.slice(1, end);
    portText = text.slice(end + 2);
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) return undefined;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
  }
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  return { host: host === "" ? "0.0.0.0" : host, port: Number(portText) };
}

/** The endpoint of a `-chardev socket` (or undefined for other backends). */
function socketEndpoint(parts: readonly OptionPart[]): Endpoint | undefined {
  const server = parseOnOff(lastOption(parts, "server")) ?? false;
  const path = lastOption(parts, "path");
  if (path !== undefined) return { type: "unix", path, server };
  const port = lastOption(parts, "port");
  if (port === undefined || !/^\d{1,5}$/.test(port)) return undefined;
  const host = lastOption(parts, "host") ?? "";
  return {
    type: "tcp",
    host: host === "" ? "0.0.0.0" : host,
    port: Number(port),
    server,
    telnet: parseOnOff(lastOption(parts, "telnet")) ?? false,
  };
}

/**
 * A legacy character device string as `-serial`, `-monitor` and `-qmp` take it:
 * `telnet::7001,server,nowait`, `unix:/tmp/vm0.sock,server,nowait`, `chardev:id`, `pty`…
 */
function legacyEndpoint(
  text: string,
  chardevs: ReadonlyMap<string, Chardev>,
): { endpoint: Endpoint | OtherBackend; logPath?: string } | undefined {
  if (text.startsWith("chardev:")) {
    const chardev = chardevs.get(text.slice("chardev:".length));
    if (!chardev) return undefined;
    return chardevFacts(chardev);
  }
  for (const prefix of ["tcp:", "telnet:", "tn3270:", "websocket:"]) {
    if (!text.startsWith(prefix)) continue;
    const rest = text.slice(prefix.length);
    const comma = rest.indexOf(",");
    const address = splitHostPort(comma < 0 ? rest : rest.slice(0, comma));
    if (!address) return { endpoint: { type: "other", backend: text } };
    const parts = comma < 0 ? [] : splitOptionList(rest.slice(comma + 1));
    return {
      endpoint: {
        type: "tcp",
        ...address,
        server: parseOnOff(lastOption(parts, "server")) ?? false,
        telnet: prefix === "telnet:",
      },
    };
  }
  if (text.startsWith("unix:")) {
    const parts = splitOptionList(text.slice("unix:".length), "path");
    const path = lastOption(parts, "path");
    if (path === undefined) return undefined;
    return {
      endpoint: { type: "unix", path, server: parseOnOff(lastOption(parts, "server")) ?? false },
    };
  }
  if (text === "none") return undefined;
  return { endpoint: { type: "other", backend: text } };
}

function chardevFacts(chardev: Chardev): { endpoint: Endpoint | OtherBackend; logPath?: string } {
  const logPath = lastOption(chardev.parts, "logfile");
  const endpoint = chardev.backend === "socket" ? socketEndpoint(chardev.parts) : undefined;
  return {
    endpoint: endpoint ?? { type: "other", backend: chardev.backend },
    ...(logPath !== undefined ? { logPath } : {}),
  };
}

/** Options whose argument is a JSON object in QEMU ≥ 6 when it starts with `{`. */
function optionParts(value: string, impliedKey: string): OptionPart[] {
  if (value.startsWith("{")) {
    try {
      const object = JSON.parse(value) as Record<string, unknown>;
      const parts: OptionPart[] = [];
      for (const [key, raw] of Object.entries(object)) {
        const name = key === "driver" || key === "qom-type" ? impliedKey : key;
        if (typeof raw === "string") parts.push({ key: name, value: raw });
        else if (typeof raw === "number") parts.push({ key: name, value: String(raw) });
        else if (typeof raw === "boolean") parts.push({ key: name, value: raw ? "on" : "off" });
        else if (key === "hostfwd" && Array.isArray(raw))
          for (const entry of raw)
            if (
              entry &&
              typeof entry === "object" &&
              typeof (entry as { str?: unknown }).str === "string"
            )
              parts.push({ key, value: (entry as { str: string }).str });
      }
      return parts;
    } catch {
      return [];
    }
  }
  return splitOptionList(value, impliedKey);
}

function forwardsOf(
  parts: readonly OptionPart[],
  netdevId: string | undefined,
): HostForwardFacts[] {
  const forwards: HostForwardFacts[] = [];
  for (const text of allOptions(parts, "hostfwd")) {
    // QEMU's own meaning: an empty host address binds every interface.
    const parsed = parseHostForward(text, { emptyHostAddress: "0.0.0.0" });
    if ("error" in parsed || parsed.hostPort === "auto") continue;
    forwards.push({
      ...(netdevId !== undefined ? { netdevId } : {}),
      protocol: parsed.protocol,
      hostAddress: parsed.hostAddress,
      hostPort: parsed.hostPort,
      ...(parsed.guestAddress !== undefined ? { guestAddress: parsed.guestAddress } : {}),
      guestPort: parsed.guestPort,
    });
  }
  return forwards;
}

function taskset(argv: readonly string[]): { hostCpus?: number[]; rest: readonly string[] } {
  let index = 1;
  let listMode = false;
  while (index < argv.length && argv[index]!.startsWith("-")) {
    const option = argv[index]!;
    if (option === "--cpu-list" || (/^-[a-z]+$/.test(option) && option.includes("c")))
      listMode = true;
    index++;
  }
  const cpus = argv[index];
  if (cpus === undefined) return { rest: [] };
  let hostCpus: number[] | undefined;
  if (listMode) hostCpus = parseCpuList(cpus);
  else if (/^(0x)?[0-9a-fA-F]+$/.test(cpus)) {
    const mask = BigInt(cpus.startsWith("0x") ? cpus : `0x${cpus}`);
    hostCpus = [];
    for (let cpu = 0; mask >> BigInt(cpu) > 0n; cpu++)
      if ((mask >> BigInt(cpu)) & 1n) hostCpus.push(cpu);
  }
  return { ...(hostCpus ? { hostCpus } : {}), rest: argv.slice(index + 1) };
}

/**
 * Reads a QEMU command line back into the facts needed to attach to the VM: name,
 * pidfile, QMP and HMP sockets, serial console (telnet port or unix path, log),
 * guest agent socket, forwarded ports, VNC, incoming migration port, passthrough
 * ids and host addresses, vhost-user sockets. It reads argv as found in
 * `/proc/PID/cmdline` (see `splitProcCmdline`), with or without the program and a
 * `taskset` prefix, both from this package (`parseArgs(buildArgs(spec))` equals
 * `specFacts(spec)`) and from other tools such as DTS (`-serial telnet::7001,server,nowait`,
 * `-monitor unix:/tmp/vm0_monitor.sock,server,nowait`, `hostfwd=tcp:10.0.0.1:6001-:22`).
 * An empty listen address (QEMU: every interface) is reported as `0.0.0.0`.
 * Never throws: what it does not recognize it leaves out.
 */
export function parseArgs(argv: readonly string[]): VmFacts {
  let args = argv;
  let file: string | undefined;
  let hostCpus: number[] | undefined;
  if (args.length > 0 && !args[0]!.startsWith("-")) {
    const program = args[0]!;
    if (program === "taskset" || program.endsWith("/taskset")) {
      const pinned = taskset(args);
      hostCpus = pinned.hostCpus;
      args = pinned.rest;
      if (args.length > 0 && !args[0]!.startsWith("-")) {
        file = args[0];
        args = args.slice(1);
      }
    } else {
      file = program;
      args = args.slice(1);
    }
  }

  let name: string | undefined;
  let pidfile: string | undefined;
  let daemonize = false;
  let vncText: string | undefined;
  let incomingText: string | undefined;
  const chardevs = new Map<string, Chardev>();
  const mons: OptionPart[][] = [];
  const qmpTexts: string[] = [];
  const monitorTexts: string[] = [];
  const serialTexts: string[] = [];
  const netdevs: { type: string; parts: OptionPart[] }[] = [];
  const legacyNets: OptionPart[][] = [];
  const devices: { driver: string; parts: OptionPart[] }[] = [];
  const objects: { type: string; parts: OptionPart[] }[] = [];

  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (!arg.startsWith("-") || arg === "-") continue; // a bare disk image
    const option = arg.replace(/^--?/, "");
    if (FLAGS.has(option)) {
      if (option === "daemonize") daemonize = true;
      continue;
    }
    const value = args[index + 1];
    index++;
    if (value === undefined) break;
    switch (option) {
      case "name":
        name = lastOption(splitOptionList(value, "guest"), "guest");
        break;
      case "pidfile":
        pidfile = value;
        break;
      case "chardev": {
        const parts = splitOptionList(value, "backend");
        const id = lastOption(parts, "id");
        if (id !== undefined)
          chardevs.set(id, { backend: lastOption(parts, "backend") ?? "", parts });
        break;
      }
      case "mon":
        mons.push(splitOptionList(value, "chardev"));
        break;
      case "qmp":
      case "qmp-pretty":
        qmpTexts.push(value);
        break;
      case "monitor":
        monitorTexts.push(value);
        break;
      case "serial":
        serialTexts.push(value);
        break;
      case "netdev": {
        const parts = optionParts(value, "type");
        netdevs.push({ type: lastOption(parts, "type") ?? "", parts });
        break;
      }
      case "net":
      case "nic": {
        const parts = splitOptionList(value, "type");
        if (lastOption(parts, "type") === "user") legacyNets.push(parts);
        break;
      }
      case "device": {
        const parts = optionParts(value, "driver");
        devices.push({ driver: lastOption(parts, "driver") ?? "", parts });
        break;
      }
      case "object": {
        const parts = optionParts(value, "qom-type");
        objects.push({ type: lastOption(parts, "qom-type") ?? "", parts });
        break;
      }
      case "vnc":
        vncText = value;
        break;
      case "incoming":
        incomingText = value;
        break;
    }
  }

  const chardevEndpoint = (id: string | undefined): Endpoint | undefined => {
    const chardev = id === undefined ? undefined : chardevs.get(id);
    const endpoint = chardev ? chardevFacts(chardev).endpoint : undefined;
    return endpoint && endpoint.type !== "other" ? endpoint : undefined;
  };

  const qmp: Endpoint[] = [];
  const monitors: Endpoint[] = [];
  const serials: SerialFacts[] = [];
  for (const text of qmpTexts) {
    const found = legacyEndpoint(text, chardevs);
    if (found && found.endpoint.type !== "other") qmp.push(found.endpoint);
  }
  for (const text of monitorTexts) {
    const found = legacyEndpoint(text, chardevs);
    if (found && found.endpoint.type !== "other") monitors.push(found.endpoint);
  }
  for (const parts of mons) {
    const endpoint = chardevEndpoint(lastOption(parts, "chardev"));
    if (!endpoint) continue;
    if (lastOption(parts, "mode") === "control") qmp.push(endpoint);
    else monitors.push(endpoint);
  }
  for (const text of serialTexts) {
    const multiplexed = text.startsWith("mon:");
    const found = legacyEndpoint(multiplexed ? text.slice(4) : text, chardevs);
    if (!found) continue;
    serials.push(found);
    if (multiplexed && found.endpoint.type !== "other") monitors.push(found.endpoint);
  }

  let guestAgent: Endpoint | undefined;
  const passthrough: PassthroughFacts[] = [];
  for (const { driver, parts } of devices) {
    if (
      (driver === "virtserialport" || driver === "virtconsole") &&
      lastOption(parts, "name") === GUEST_AGENT_PORT_NAME
    ) {
      guestAgent ??= chardevEndpoint(lastOption(parts, "chardev"));
    } else if (PASSTHROUGH_DRIVERS.has(driver)) {
      const hostText = lastOption(parts, "host");
      const address = hostText === undefined ? undefined : parsePciAddress(hostText);
      if (!address) continue;
      const addr = lastOption(parts, "addr");
      passthrough.push(
        passthroughFacts(
          lastOption(parts, "id"),
          driver,
          formatPciAddress(address),
          lastOption(parts, "bus"),
          addr === undefined ? undefined : parseGuestSlot(addr),
        ),
      );
    }
  }

  const hostForwards: HostForwardFacts[] = [];
  const vhostUser: SocketUser[] = [];
  for (const { type, parts } of netdevs) {
    const id = lastOption(parts, "id");
    if (type === "user") hostForwards.push(...forwardsOf(parts, id));
    else if (type === "vhost-user") {
      const endpoint = chardevEndpoint(lastOption(parts, "chardev"));
      if (endpoint) vhostUser.push({ ...(id !== undefined ? { id } : {}), endpoint });
    }
  }
  for (const parts of legacyNets) hostForwards.push(...forwardsOf(parts, lastOption(parts, "id")));

  const crypto: SocketUser[] = [];
  for (const { type, parts } of objects) {
    if (type !== "cryptodev-vhost-user") continue;
    const endpoint = chardevEndpoint(lastOption(parts, "chardev"));
    const id = lastOption(parts, "id");
    if (endpoint) crypto.push({ ...(id !== undefined ? { id } : {}), endpoint });
  }

  let vnc: VmFacts["vnc"];
  if (vncText !== undefined) {
    const address = lastOption(splitOptionList(vncText, "vnc"), "vnc");
    const parsed =
      address === undefined || address.startsWith("unix:") ? undefined : splitHostPort(address);
    if (parsed && parsed.port <= 65535 - VNC_BASE_PORT)
      vnc = { host: parsed.host, display: parsed.port, port: VNC_BASE_PORT + parsed.port };
  }

  let incoming: VmFacts["incoming"];
  if (incomingText !== undefined) {
    const tcp = incomingText.startsWith("tcp:")
      ? splitHostPort(incomingText.slice(4).split(",")[0]!)
      : undefined;
    incoming = tcp ?? { uri: incomingText };
  }

  return assembleFacts({
    ...(file !== undefined ? { file } : {}),
    ...(hostCpus !== undefined ? { hostCpus } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(pidfile !== undefined ? { pidfile } : {}),
    daemonize,
    qmp,
    monitors,
    serials,
    ...(guestAgent ? { guestAgent } : {}),
    ...(vnc ? { vnc } : {}),
    ...(incoming ? { incoming } : {}),
    hostForwards,
    passthrough,
    vhostUser,
    crypto,
  });
}
