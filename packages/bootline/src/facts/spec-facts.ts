/** `specFacts`: what a spec will expose once running, computed without running it. */
import { known } from "../argv/options.js";
import { VNC_BASE_PORT } from "../spec/defaults.js";
import type { ResolvedSpec } from "../spec/resolved-spec.js";
import type { VmSpec } from "../spec/vm-spec.js";
import { resolveOrThrow } from "../validate/resolve.js";
import { assembleFacts, type MutableFactParts, passthroughFacts } from "./assemble.js";
import type {
  DriveFacts,
  Endpoint,
  HostForwardFacts,
  PassthroughFacts,
  SerialFacts,
  SocketUser,
  VmFacts,
} from "./vm-facts.js";

const listening = (path: string): Endpoint => ({ type: "unix", path, server: true });

function serialFacts(spec: ResolvedSpec): SerialFacts[] {
  const serial = spec.serial;
  if (!serial) return [];
  const endpoint: Endpoint =
    serial.type === "unix"
      ? listening(known(serial.path, "serial.path"))
      : {
          type: "tcp",
          host: serial.host,
          port: known(serial.port, "serial.port"),
          server: true,
          telnet: serial.type === "telnet",
        };
  if (!serial.log) return [{ endpoint }];
  return [{ endpoint, logPath: known(serial.log.path, "serial.log.path") }];
}

/** QMP, HMP, serial and the guest agent. */
function channelFacts(spec: ResolvedSpec, parts: MutableFactParts): void {
  parts.qmp = spec.qmp ? [listening(known(spec.qmp.path, "qmp.path"))] : [];
  parts.monitors = spec.monitor ? [listening(known(spec.monitor.path, "monitor.path"))] : [];
  parts.serials = serialFacts(spec);
  if (spec.guestAgent) parts.guestAgent = listening(known(spec.guestAgent.path, "guestAgent.path"));
}

/** VNC and the incoming migration, on TCP or a unix socket. */
function listenerFacts(spec: ResolvedSpec, parts: MutableFactParts): void {
  const display = spec.display;
  if (display.type === "vnc") {
    if (display.socket === "unix") parts.vnc = { path: known(display.path, "display.path") };
    else {
      const number = known(display.display, "display.display");
      parts.vnc = { host: display.host, display: number, port: VNC_BASE_PORT + number };
    }
  }
  const incoming = spec.incoming;
  if (incoming)
    parts.incoming =
      incoming.type === "unix"
        ? { path: known(incoming.path, "incoming.path") }
        : { host: incoming.host, port: known(incoming.port, "incoming.port") };
}

/** The kernel, the initrd, and every image `-drive` opens: drives, then pflash (argv order). */
function storageFacts(spec: ResolvedSpec, parts: MutableFactParts): void {
  const drives: DriveFacts[] = [];
  for (const drive of spec.drives) {
    const facts: { -readonly [K in keyof DriveFacts]: DriveFacts[K] } = {
      id: drive.id,
      path: drive.path,
      readOnly: drive.readOnly || drive.media === "cdrom",
      snapshot: drive.snapshot,
    };
    if (drive.format !== undefined) facts.format = drive.format;
    if (drive.interface !== undefined) facts.interface = drive.interface;
    if (drive.media !== undefined) facts.media = drive.media;
    drives.push(facts);
  }
  for (const flash of spec.pflash)
    drives.push({
      id: flash.id,
      path: flash.path,
      format: flash.format,
      interface: "pflash",
      readOnly: flash.readOnly,
      snapshot: false,
    });
  parts.drives = drives;
  if (spec.kernel) {
    parts.kernel = spec.kernel.path;
    if (spec.kernel.initrdPath !== undefined) parts.initrd = spec.kernel.initrdPath;
  }
}

function hostForwardFacts(spec: ResolvedSpec): HostForwardFacts[] {
  const forwards: HostForwardFacts[] = [];
  for (const net of spec.nets) {
    if (net.type !== "user") continue;
    for (const forward of net.hostForwards) {
      const facts: { -readonly [K in keyof HostForwardFacts]: HostForwardFacts[K] } = {
        netdevId: net.netdevId,
        protocol: forward.protocol,
        hostAddress: forward.hostAddress,
        hostPort: known(forward.hostPort, forward.field),
        guestPort: forward.guestPort,
      };
      if (forward.guestAddress !== undefined) facts.guestAddress = forward.guestAddress;
      forwards.push(facts);
    }
  }
  return forwards;
}

/** Passthrough devices, and the vhost-user sockets of networks and crypto devices. */
function deviceFacts(spec: ResolvedSpec, parts: MutableFactParts): void {
  const passthrough: PassthroughFacts[] = [];
  for (const device of spec.passthrough)
    passthrough.push(
      passthroughFacts(device.id, device.driver, device.host, device.bus, device.slot),
    );
  parts.passthrough = passthrough;
  const vhostUser: SocketUser[] = [];
  for (const net of spec.nets)
    if (net.type === "vhost-user")
      vhostUser.push({
        id: net.netdevId,
        endpoint: { type: "unix", path: net.socketPath, server: net.server },
      });
  parts.vhostUser = vhostUser;
  const crypto: SocketUser[] = [];
  for (const device of spec.crypto)
    if (device.backend === "vhost-user")
      crypto.push({
        id: device.backendId,
        endpoint: {
          type: "unix",
          path: known(device.socketPath, `crypto[${device.index}].socketPath`),
          server: false,
        },
      });
  parts.crypto = crypto;
}

/**
 * The facts a spec will have once running, computed without running it: the runtime
 * paths it uses (sockets, pidfile, logs) and their roles, the host ports it listens
 * on, forwards, the images it opens, and the ids and guest slots of passthrough
 * devices. Equal to `parseArgs(buildArgs(spec))`. Throws `InvalidSpecError` like
 * `buildArgs`.
 */
export function specFacts(spec: VmSpec): VmFacts {
  const resolved = resolveOrThrow(spec);
  // Assigned one by one in the order of VmFacts, not spread.
  const parts = { name: resolved.name } as MutableFactParts;
  if (resolved.uuid !== undefined) parts.uuid = resolved.uuid;
  if (resolved.pidfile) parts.pidfile = known(resolved.pidfile.path, "pidfile.path");
  parts.daemonize = resolved.daemonize;
  parts.paused = resolved.paused;
  channelFacts(resolved, parts);
  listenerFacts(resolved, parts);
  storageFacts(resolved, parts);
  parts.hostForwards = hostForwardFacts(resolved);
  deviceFacts(resolved, parts);
  return assembleFacts(parts);
}
