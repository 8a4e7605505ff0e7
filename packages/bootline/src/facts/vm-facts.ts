/** What a running VM exposes, the same shape from a spec (`specFacts`) and from argv (`parseArgs`). */
import type { PortKind } from "@qemu-kvm/core";

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

/** A disk image (or firmware, or a CD) QEMU opens. */
export interface DriveFacts {
  /** `id=` (`drive0`, `pflash0` here), or a `-blockdev`'s `node-name`. */
  readonly id?: string;
  /** The image as QEMU was given it: a path, or a protocol such as `nbd:…`. */
  readonly path: string;
  /** `format=`, when given (QEMU probes it otherwise). */
  readonly format?: string;
  /**
   * `if=`: `virtio`, `ide`, `scsi`, `pflash`, `floppy`…; absent for the machine's default
   * interface (`-drive` without `if=`, `-hda`, `-cdrom`, a bare image) and for `-blockdev`.
   */
  readonly interface?: string;
  /** `media=` (`disk` or `cdrom`), when given. */
  readonly media?: string;
  /** QEMU opens the image read-only: `readonly=on` (`read-only=on` of `-blockdev`), or a CD-ROM. */
  readonly readOnly: boolean;
  /** `snapshot=on` (or QEMU's `-snapshot`): writes go to a temporary overlay, never to the image. */
  readonly snapshot: boolean;
}

export interface SocketUser {
  /** The netdev or cryptodev id. */
  readonly id?: string;
  readonly endpoint: Endpoint;
}

/**
 * What a host port is for: a {@link PortKind} (`forward`, `serial`, `migration`,
 * `display`: the ports a pool leases), or a monitor or the guest agent on TCP,
 * which only a command line of another tool has (`-qmp tcp:…`).
 */
export type ListenerKind = PortKind | "qmp" | "monitor" | "guest-agent";

/** A host port QEMU listens on. */
export interface Listener {
  readonly kind: ListenerKind;
  readonly protocol: "tcp" | "udp";
  /** `0.0.0.0` when QEMU binds every interface. */
  readonly host: string;
  readonly port: number;
}

/** What a runtime file or unix socket is for. */
export type RuntimePathKind =
  /** `-pidfile`: QEMU writes its pid there. */
  | "pidfile"
  /** A QMP monitor socket. */
  | "qmp"
  /** An HMP (human monitor) socket. */
  | "monitor"
  /** The serial console's unix socket. */
  | "serial"
  /** The serial console's log (`logfile=`): everything the guest printed. */
  | "serial-log"
  /** The guest agent channel's socket. */
  | "guest-agent"
  /** A vhost-user network socket (QEMU's when `server`, else the backend's, such as DPDK's). */
  | "vhost-user"
  /** A vhost-user crypto socket, served by the backend (such as DPDK's vhost_crypto). */
  | "crypto"
  /** The VNC server's unix socket (`-vnc unix:PATH`). */
  | "vnc"
  /** The unix socket an incoming migration is sent to (`-incoming unix:PATH`). */
  | "incoming";

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
  /** `-uuid`, in lower case: what the guest reads as its DMI product UUID. */
  readonly uuid?: string;
  readonly pidfile?: string;
  readonly daemonize: boolean;
  /** `-S`: QEMU started with its vCPUs stopped (until QMP `cont`). */
  readonly paused: boolean;
  /** QMP monitors (`-qmp`, `-mon mode=control`). */
  readonly qmp: readonly Endpoint[];
  /** HMP monitors (`-monitor`, `-mon mode=readline`, `mon:` serial multiplexing). */
  readonly monitors: readonly Endpoint[];
  /** Serial ports in order (`serials[0]` is the console). */
  readonly serials: readonly SerialFacts[];
  /** The guest agent channel (the chardev of `virtserialport name=org.qemu.guest_agent.0`). */
  readonly guestAgent?: Endpoint;
  /** `-vnc`: a TCP display (`port` is 5900 + `display`), or a unix socket (`path`). */
  readonly vnc?:
    | { readonly host: string; readonly display: number; readonly port: number }
    | { readonly path: string };
  /** `-incoming`: a TCP listener, a unix socket, or the URI as written for other transports. */
  readonly incoming?:
    | { readonly host: string; readonly port: number }
    | { readonly path: string }
    | { readonly uri: string };
  /** `-kernel`: the kernel image QEMU loads. */
  readonly kernel?: string;
  /** `-initrd`. */
  readonly initrd?: string;
  /**
   * Every disk image and firmware file QEMU opens (`-drive`, including `if=pflash`;
   * `-hda`… `-cdrom`, `-pflash`, a bare image; `-blockdev` with a `filename`), in
   * command line order: whether an image is in use by a VM is a question for these.
   */
  readonly drives: readonly DriveFacts[];
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
