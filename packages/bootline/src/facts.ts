import { formatGuestSlot } from "./pci-address.js";
import { type Slot, VNC_BASE_PORT } from "./resolved-spec.js";
import type { VmSpec } from "./spec.js";
import { resolveOrThrow } from "./validate.js";

/** A socket QEMU listens on (`server`) or connects to. */
export type Endpoint =
  | { readonly type: "unix"; readonly path: string; readonly server: boolean }
  | {
      readonly type: "tcp";
      /** `0.0.0.0` when QEMU binds every interface. */
      readonly host: string;
      readonly port: number;
      readonly server: boolean;
      /** Speaks telnet (option negotiation precedes the data). */
      readonly telnet: boolean;
    };

/** A character backend that is not a socket (`pty`, `stdio`, `file:…`, `vc`…). */
export interface OtherBackend {
  readonly type: "other";
  /** As written, e.g. `pty` or `file:/var/log/vm0.log`. */
  readonly backend: string;
}

export interface SerialFacts {
  readonly endpoint: Endpoint | OtherBackend;
  /** The chardev's `logfile=`: everything the guest printed. */
  readonly logPath?: string;
}

export interface HostForwardFacts {
  /** The `-netdev user` id it belongs to, when it has one. */
  readonly netdevId?: string;
  readonly protocol: "tcp" | "udp";
  /** `0.0.0.0` when QEMU binds every interface. */
  readonly hostAddress: string;
  readonly hostPort: number;
  readonly guestAddress?: string;
  readonly guestPort: number;
}

export interface PassthroughFacts {
  /** The device id (`pt0` here, `pt_0` from DTS); what `query-pci` reports as `qdev_id`. */
  readonly id?: string;
  readonly driver: string;
  /** Host PCI address, normalized to `DDDD:BB:SS.F`. */
  readonly host: string;
  /** `bus=` when given. */
  readonly bus?: string;
  /** The requested guest slot `SS.F` (`addr=`), when given. */
  readonly slot?: string;
  /** The guest address `0000:00:SS.F`, when a slot on the root bus was requested. */
  readonly guestAddress?: string;
}

export interface SocketUser {
  /** The netdev or cryptodev id. */
  readonly id?: string;
  readonly endpoint: Endpoint;
}

export type ListenerKind =
  | "forward"
  | "serial"
  | "display"
  | "migration"
  | "qmp"
  | "monitor"
  | "guest-agent";

/** A host port QEMU listens on. */
export interface Listener {
  readonly kind: ListenerKind;
  readonly protocol: "tcp" | "udp";
  /** `0.0.0.0` when QEMU binds every interface. */
  readonly host: string;
  readonly port: number;
}

export type RuntimePathKind =
  | "pidfile"
  | "qmp"
  | "monitor"
  | "serial"
  | "serial-log"
  | "guest-agent"
  | "vhost-user"
  | "crypto";

/** A file or unix socket QEMU creates or uses while it runs. */
export interface RuntimePath {
  readonly kind: RuntimePathKind;
  readonly path: string;
  /** `listen`: QEMU creates the socket; `connect`: a peer serves it; `file`: QEMU writes the file. */
  readonly role: "listen" | "connect" | "file";
}

/**
 * What a running VM exposes: everything needed to attach to it (sockets, ports,
 * pidfile, forwarded ports, incoming port, passthrough ids). The same shape comes
 * from a spec (`specFacts`) and from a command line (`parseArgs`).
 */
export interface VmFacts {
  /** The program, when the argv parsed started with one (after any `taskset` prefix). */
  readonly file?: string;
  /** Host CPUs from a `taskset` prefix. */
  readonly hostCpus?: readonly number[];
  readonly name?: string;
  readonly pidfile?: string;
  readonly daemonize: boolean;
  /** QMP monitors (`-qmp`, `-mon mode=control`). */
  readonly qmp: readonly Endpoint[];
  /** HMP monitors (`-monitor`, `-mon mode=readline`, `mon:` serial multiplexing). */
  readonly monitors: readonly Endpoint[];
  /** Serial ports in order (`serials[0]` is the console). */
  readonly serials: readonly SerialFacts[];
  /** The guest agent channel (the chardev of `virtserialport name=org.qemu.guest_agent.0`). */
  readonly guestAgent?: Endpoint;
  readonly vnc?: { readonly host: string; readonly display: number; readonly port: number };
  /** `-incoming`: a TCP listener, or the URI as written for other transports. */
  readonly incoming?: { readonly host: string; readonly port: number } | { readonly uri: string };
  readonly hostForwards: readonly HostForwardFacts[];
  readonly passthrough: readonly PassthroughFacts[];
  /** vhost-user network sockets, by netdev id. */
  readonly vhostUser: readonly SocketUser[];
  /** vhost-user crypto sockets, by cryptodev id. */
  readonly crypto: readonly SocketUser[];
  /** Every host port QEMU listens on (derived from the fields above). */
  readonly listeners: readonly Listener[];
  /** Every runtime file and unix socket (derived from the fields above). */
  readonly runtimePaths: readonly RuntimePath[];
}

export type FactParts = Omit<VmFacts, "listeners" | "runtimePaths">;

const ROOT_BUSES = new Set(["pci.0", "pcie.0"]);

/** Internal: the passthrough facts of one device, the same way for specs and argv. */
export function passthroughFacts(
  id: string | undefined,
  driver: string,
  host: string,
  bus: string | undefined,
  slot: Slot | undefined,
): PassthroughFacts {
  const slotText = slot ? formatGuestSlot(slot) : undefined;
  return {
    ...(id !== undefined ? { id } : {}),
    driver,
    host,
    ...(bus !== undefined ? { bus } : {}),
    ...(slotText !== undefined ? { slot: slotText } : {}),
    ...(slotText !== undefined && (bus === undefined || ROOT_BUSES.has(bus))
      ? { guestAddress: `0000:00:${slotText}` }
      : {}),
  };
}

function listenerOf(kind: ListenerKind, endpoint: Endpoint | OtherBackend | undefined): Listener[] {
  if (endpoint?.type !== "tcp" || !endpoint.server) return [];
  return [{ kind, protocol: "tcp", host: endpoint.host, port: endpoint.port }];
}

function pathOf(
  kind: RuntimePathKind,
  endpoint: Endpoint | OtherBackend | undefined,
): RuntimePath[] {
  if (endpoint?.type !== "unix") return [];
  return [{ kind, path: endpoint.path, role: endpoint.server ? "listen" : "connect" }];
}

/** Internal: adds the derived `listeners` and `runtimePaths`, in a fixed order. */
export function assembleFacts(parts: FactParts): VmFacts {
  const listeners: Listener[] = [
    ...parts.hostForwards.map(
      (forward): Listener => ({
        kind: "forward",
        protocol: forward.protocol,
        host: forward.hostAddress,
        port: forward.hostPort,
      }),
    ),
    ...parts.serials.flatMap((serial) => listenerOf("serial", serial.endpoint)),
    ...(parts.vnc
      ? [{ kind: "display", protocol: "tcp", host: parts.vnc.host, port: parts.vnc.port } as const]
      : []),
    ...(parts.incoming && "port" in parts.incoming
      ? [
          {
            kind: "migration",
            protocol: "tcp",
            host: parts.incoming.host,
            port: parts.incoming.port,
          } as const,
        ]
      : []),
    ...parts.qmp.flatMap((endpoint) => listenerOf("qmp", endpoint)),
    ...parts.monitors.flatMap((endpoint) => listenerOf("monitor", endpoint)),
    ...listenerOf("guest-agent", parts.guestAgent),
  ];
  const runtimePaths: RuntimePath[] = [
    ...(parts.pidfile !== undefined
      ? [{ kind: "pidfile", path: parts.pidfile, role: "file" } as const]
      : []),
    ...parts.qmp.flatMap((endpoint) => pathOf("qmp", endpoint)),
    ...parts.monitors.flatMap((endpoint) => pathOf("monitor", endpoint)),
    ...parts.serials.flatMap((serial) => [
      ...pathOf("serial", serial.endpoint),
      ...(serial.logPath !== undefined
        ? [{ kind: "serial-log", path: serial.logPath, role: "file" } as const]
        : []),
    ]),
    ...pathOf("guest-agent", parts.guestAgent),
    ...parts.vhostUser.flatMap((user) => pathOf("vhost-user", user.endpoint)),
    ...parts.crypto.flatMap((user) => pathOf("crypto", user.endpoint)),
  ];
  return { ...parts, listeners, runtimePaths };
}

/**
 * The facts a spec will have once running, computed without running it: the runtime
 * paths it uses (sockets, pidfile, logs) and their roles, the host ports it listens
 * on, forwards, and the ids and guest slots of passthrough devices. Equal to
 * `parseArgs(buildArgs(spec))`. Throws `InvalidSpecError` like `buildArgs`.
 */
export function specFacts(spec: VmSpec): VmFacts {
  const resolved = resolveOrThrow(spec);
  const must = <T>(value: T | undefined | "auto"): T => {
    if (value === undefined || value === "auto")
      throw new Error("internal: unresolved after validation");
    return value;
  };
  const serial = resolved.serial;
  const logPath = serial?.log ? must(serial.log.path) : undefined;
  return assembleFacts({
    name: resolved.name,
    ...(resolved.pidfile ? { pidfile: must(resolved.pidfile.path) } : {}),
    daemonize: resolved.daemonize,
    qmp: resolved.qmp ? [{ type: "unix", path: must(resolved.qmp.path), server: true }] : [],
    monitors: resolved.monitor
      ? [{ type: "unix", path: must(resolved.monitor.path), server: true }]
      : [],
    serials: serial
      ? [
          {
            endpoint:
              serial.type === "unix"
                ? { type: "unix", path: must(serial.path), server: true }
                : {
                    type: "tcp",
                    host: serial.host,
                    port: must(serial.port),
                    server: true,
                    telnet: serial.type === "telnet",
                  },
            ...(logPath !== undefined ? { logPath } : {}),
          },
        ]
      : [],
    ...(resolved.guestAgent
      ? {
          guestAgent: { type: "unix", path: must(resolved.guestAgent.path), server: true } as const,
        }
      : {}),
    ...(resolved.display.type === "vnc"
      ? {
          vnc: {
            host: resolved.display.host,
            display: must(resolved.display.display),
            port: VNC_BASE_PORT + must(resolved.display.display),
          },
        }
      : {}),
    ...(resolved.incoming
      ? { incoming: { host: resolved.incoming.host, port: must(resolved.incoming.port) } }
      : {}),
    hostForwards: resolved.nets.flatMap((net) =>
      net.type === "user"
        ? net.hostForwards.map(
            (forward): HostForwardFacts => ({
              netdevId: net.netdevId,
              protocol: forward.protocol,
              hostAddress: forward.hostAddress,
              hostPort: must(forward.hostPort),
              ...(forward.guestAddress !== undefined ? { guestAddress: forward.guestAddress } : {}),
              guestPort: forward.guestPort,
            }),
          )
        : [],
    ),
    passthrough: resolved.passthrough.map((device) =>
      passthroughFacts(device.id, device.driver, device.host, device.bus, device.slot),
    ),
    vhostUser: resolved.nets.flatMap((net) =>
      net.type === "vhost-user"
        ? [
            {
              id: net.netdevId,
              endpoint: { type: "unix", path: net.socketPath, server: net.server } as const,
            },
          ]
        : [],
    ),
    crypto: resolved.crypto.flatMap((crypto) =>
      crypto.backend === "vhost-user"
        ? [
            {
              id: crypto.backendId,
              endpoint: { type: "unix", path: must(crypto.socketPath), server: false } as const,
            },
          ]
        : [],
    ),
  });
}
