/** `specFacts`: what a spec will expose once running, computed without running it. */
import { known } from "../argv/options.js";
import { VNC_BASE_PORT } from "../spec/defaults.js";
import type { ResolvedSpec } from "../spec/resolved-spec.js";
import type { VmSpec } from "../spec/vm-spec.js";
import { resolveOrThrow } from "../validate/resolve.js";
import { assembleFacts, passthroughFacts } from "./assemble.js";
import type { Endpoint, HostForwardFacts, SerialFacts, SocketUser, VmFacts } from "./vm-facts.js";

const listening = (path: string): Endpoint => ({ type: "unix", path, server: true });

function serialFacts(spec: ResolvedSpec): SerialFacts[] {
  const serial = spec.serial;
  if (!serial) return [];
  const logPath = serial.log ? known(serial.log.path, "serial.log.path") : undefined;
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
  return [{ endpoint, ...(logPath !== undefined ? { logPath } : {}) }];
}

function channelFacts(spec: ResolvedSpec): Pick<VmFacts, "qmp" | "monitors" | "guestAgent"> {
  return {
    qmp: spec.qmp ? [listening(known(spec.qmp.path, "qmp.path"))] : [],
    monitors: spec.monitor ? [listening(known(spec.monitor.path, "monitor.path"))] : [],
    ...(spec.guestAgent
      ? { guestAgent: listening(known(spec.guestAgent.path, "guestAgent.path")) }
      : {}),
  };
}

function listenerFacts(spec: ResolvedSpec): Pick<VmFacts, "vnc" | "incoming"> {
  const display =
    spec.display.type === "vnc" ? known(spec.display.display, "display.display") : undefined;
  return {
    ...(spec.display.type === "vnc" && display !== undefined
      ? { vnc: { host: spec.display.host, display, port: VNC_BASE_PORT + display } }
      : {}),
    ...(spec.incoming
      ? { incoming: { host: spec.incoming.host, port: known(spec.incoming.port, "incoming.port") } }
      : {}),
  };
}

function hostForwardFacts(spec: ResolvedSpec): HostForwardFacts[] {
  return spec.nets.flatMap((net) =>
    net.type === "user"
      ? net.hostForwards.map(
          (forward): HostForwardFacts => ({
            netdevId: net.netdevId,
            protocol: forward.protocol,
            hostAddress: forward.hostAddress,
            hostPort: known(forward.hostPort, forward.field),
            ...(forward.guestAddress !== undefined ? { guestAddress: forward.guestAddress } : {}),
            guestPort: forward.guestPort,
          }),
        )
      : [],
  );
}

function socketUserFacts(spec: ResolvedSpec): Pick<VmFacts, "vhostUser" | "crypto"> {
  return {
    vhostUser: spec.nets.flatMap((net): SocketUser[] =>
      net.type === "vhost-user"
        ? [
            {
              id: net.netdevId,
              endpoint: { type: "unix", path: net.socketPath, server: net.server },
            },
          ]
        : [],
    ),
    crypto: spec.crypto.flatMap((crypto): SocketUser[] =>
      crypto.backend === "vhost-user"
        ? [
            {
              id: crypto.backendId,
              endpoint: {
                type: "unix",
                path: known(crypto.socketPath, `crypto[${crypto.index}].socketPath`),
                server: false,
              },
            },
          ]
        : [],
    ),
  };
}

/**
 * The facts a spec will have once running, computed without running it: the runtime
 * paths it uses (sockets, pidfile, logs) and their roles, the host ports it listens
 * on, forwards, and the ids and guest slots of passthrough devices. Equal to
 * `parseArgs(buildArgs(spec))`. Throws `InvalidSpecError` like `buildArgs`.
 */
export function specFacts(spec: VmSpec): VmFacts {
  const resolved = resolveOrThrow(spec);
  return assembleFacts({
    name: resolved.name,
    ...(resolved.pidfile ? { pidfile: known(resolved.pidfile.path, "pidfile.path") } : {}),
    daemonize: resolved.daemonize,
    ...channelFacts(resolved),
    serials: serialFacts(resolved),
    ...listenerFacts(resolved),
    hostForwards: hostForwardFacts(resolved),
    passthrough: resolved.passthrough.map((device) =>
      passthroughFacts(device.id, device.driver, device.host, device.bus, device.slot),
    ),
    ...socketUserFacts(resolved),
  });
}
