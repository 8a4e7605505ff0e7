/** `parseArgs`: a QEMU command line (as in `/proc/PID/cmdline`) back into the facts of the VM. */
import {
  formatPciAddress,
  InvalidArgumentError,
  parseGuestSlot,
  parsePciAddress,
} from "@qemu-kvm/core";
import { checkString } from "../arguments.js";
import { assembleFacts, type MutableFactParts, passthroughFacts } from "../facts/assemble.js";
import type {
  Endpoint,
  HostForwardFacts,
  PassthroughFacts,
  SerialFacts,
  SocketUser,
  VmFacts,
} from "../facts/vm-facts.js";
import { VNC_BASE_PORT } from "../spec/defaults.js";
import { readHostForward } from "../syntax/host-forward.js";
import { GUEST_AGENT_PORT_NAME } from "../syntax/ids.js";
import { allOptions, lastOption, type OptionPart, splitOptionList } from "../syntax/option-list.js";
import { canonicalUuid } from "../syntax/uuid.js";
import { drivesOf } from "./drives.js";
import { chardevFacts, legacyEndpoint, splitHostPort } from "./endpoints.js";
import { type Scanned, scanOptions } from "./scan.js";
import { programOf } from "./taskset.js";

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
  checkString(text, "text");
  const parts = text.split("\0");
  if (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  return parts;
}

/** The socket a chardev id leads to (undefined for other backends and unknown ids). */
function chardevEndpoint(scanned: Scanned, id: string | undefined): Endpoint | undefined {
  const chardev = id === undefined ? undefined : scanned.chardevs.get(id);
  const endpoint = chardev ? chardevFacts(chardev).endpoint : undefined;
  return endpoint && endpoint.type !== "other" ? endpoint : undefined;
}

// The facts are assigned to `parts` one by one, with plain loops, not spreads and
// flatMap: this runs once per VM listed or attached.

/** The sockets of legacy `-qmp`/`-monitor` arguments. */
function socketsOf(texts: readonly string[], scanned: Scanned): Endpoint[] {
  const endpoints: Endpoint[] = [];
  for (const text of texts) {
    const found = legacyEndpoint(text, scanned.chardevs);
    if (found && found.endpoint.type !== "other") endpoints.push(found.endpoint);
  }
  return endpoints;
}

/** QMP and HMP monitors (`-qmp`, `-monitor`, `-mon`, `mon:` serials) and serial ports. */
function channelFacts(scanned: Scanned, facts: MutableFactParts): void {
  const qmp = socketsOf(scanned.qmp, scanned);
  const monitors = socketsOf(scanned.monitors, scanned);
  for (const parts of scanned.mons) {
    const endpoint = chardevEndpoint(scanned, lastOption(parts, "chardev"));
    if (!endpoint) continue;
    if (lastOption(parts, "mode") === "control") qmp.push(endpoint);
    else monitors.push(endpoint);
  }
  const serials: SerialFacts[] = [];
  for (const text of scanned.serials) {
    const multiplexed = text.startsWith("mon:");
    const found = legacyEndpoint(multiplexed ? text.slice(4) : text, scanned.chardevs);
    if (!found) continue;
    serials.push(found);
    if (multiplexed && found.endpoint.type !== "other") monitors.push(found.endpoint);
  }
  facts.qmp = qmp;
  facts.monitors = monitors;
  facts.serials = serials;
}

/** The guest agent's channel and the passthrough devices, from `-device`. */
function deviceFacts(scanned: Scanned, facts: MutableFactParts): void {
  let guestAgent: Endpoint | undefined;
  const passthrough: PassthroughFacts[] = [];
  for (const { kind: driver, parts } of scanned.devices) {
    if (
      (driver === "virtserialport" || driver === "virtconsole") &&
      lastOption(parts, "name") === GUEST_AGENT_PORT_NAME
    ) {
      guestAgent ??= chardevEndpoint(scanned, lastOption(parts, "chardev"));
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
  if (guestAgent) facts.guestAgent = guestAgent;
  facts.passthrough = passthrough;
}

function pushForwards(
  forwards: HostForwardFacts[],
  parts: readonly OptionPart[],
  netdevId: string | undefined,
): void {
  for (const text of allOptions(parts, "hostfwd")) {
    // QEMU's own meaning: an empty host address binds every interface.
    const parsed = readHostForward(text, { emptyHostAddress: "0.0.0.0" });
    if ("error" in parsed || parsed.hostPort === "auto") continue;
    const forward: { -readonly [K in keyof HostForwardFacts]: HostForwardFacts[K] } = {
      protocol: parsed.protocol,
      hostAddress: parsed.hostAddress,
      hostPort: parsed.hostPort,
      guestPort: parsed.guestPort,
    };
    if (netdevId !== undefined) forward.netdevId = netdevId;
    if (parsed.guestAddress !== undefined) forward.guestAddress = parsed.guestAddress;
    forwards.push(forward);
  }
}

/** The socket a netdev or cryptodev reaches through its `chardev=`, with its id. */
function pushSocketUser(users: SocketUser[], scanned: Scanned, parts: readonly OptionPart[]): void {
  const endpoint = chardevEndpoint(scanned, lastOption(parts, "chardev"));
  if (!endpoint) return;
  const id = lastOption(parts, "id");
  users.push(id === undefined ? { endpoint } : { id, endpoint });
}

/** Forwards of user networking, vhost-user sockets, and vhost-user crypto sockets. */
function backendFacts(scanned: Scanned, facts: MutableFactParts): void {
  const hostForwards: HostForwardFacts[] = [];
  const vhostUser: SocketUser[] = [];
  for (const { kind, parts } of scanned.netdevs) {
    if (kind === "user") pushForwards(hostForwards, parts, lastOption(parts, "id"));
    else if (kind === "vhost-user") pushSocketUser(vhostUser, scanned, parts);
  }
  for (const parts of scanned.legacyNets)
    pushForwards(hostForwards, parts, lastOption(parts, "id"));
  const crypto: SocketUser[] = [];
  for (const { kind, parts } of scanned.objects)
    if (kind === "cryptodev-vhost-user") pushSocketUser(crypto, scanned, parts);
  facts.hostForwards = hostForwards;
  facts.vhostUser = vhostUser;
  facts.crypto = crypto;
}

/** `-vnc HOST:DISPLAY` or `-vnc unix:PATH`, when it is one of these. */
function vncFacts(text: string): VmFacts["vnc"] {
  const address = lastOption(splitOptionList(text, "vnc"), "vnc");
  if (address === undefined) return undefined;
  if (address.startsWith("unix:"))
    return address.length > 5 ? { path: address.slice(5) } : undefined;
  const parsed = splitHostPort(address);
  if (parsed && parsed.port <= 65535 - VNC_BASE_PORT)
    return { host: parsed.host, display: parsed.port, port: VNC_BASE_PORT + parsed.port };
  return undefined;
}

/** `-incoming tcp:HOST:PORT`, `-incoming unix:PATH` (a URI: the path as it is), or another URI. */
function incomingFacts(text: string): NonNullable<VmFacts["incoming"]> {
  if (text.startsWith("tcp:")) {
    const tcp = splitHostPort(text.slice(4).split(",")[0]!);
    if (tcp) return tcp;
  } else if (text.startsWith("unix:") && text.length > 5) return { path: text.slice(5) };
  return { uri: text };
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
 * What it does not recognize it leaves out; it throws only `ERR_INVALID_ARGUMENT`,
 * when `argv` is not an array of strings.
 */
export function parseArgs(argv: readonly string[]): VmFacts {
  // Each element is checked where it is read (one pass, not two): see scanOptions.
  if (!Array.isArray(argv)) throw new InvalidArgumentError("argv", "an array of strings", argv);
  const { file, hostCpus, args } = programOf(argv);
  const scanned = scanOptions(args, argv.length - args.length);
  // Assigned one by one in the order of VmFacts, not spread.
  const parts = {} as MutableFactParts;
  if (file !== undefined) parts.file = file;
  if (hostCpus !== undefined) parts.hostCpus = hostCpus;
  if (scanned.name !== undefined) parts.name = scanned.name;
  const uuid = scanned.uuid === undefined ? undefined : canonicalUuid(scanned.uuid);
  if (uuid !== undefined) parts.uuid = uuid;
  if (scanned.pidfile !== undefined) parts.pidfile = scanned.pidfile;
  parts.daemonize = scanned.daemonize;
  parts.paused = scanned.paused;
  channelFacts(scanned, parts);
  const vnc = scanned.vnc === undefined ? undefined : vncFacts(scanned.vnc);
  if (vnc) parts.vnc = vnc;
  if (scanned.incoming !== undefined) parts.incoming = incomingFacts(scanned.incoming);
  if (scanned.kernel !== undefined) parts.kernel = scanned.kernel;
  if (scanned.initrd !== undefined) parts.initrd = scanned.initrd;
  parts.drives = drivesOf(scanned);
  deviceFacts(scanned, parts);
  backendFacts(scanned, parts);
  return assembleFacts(parts);
}
