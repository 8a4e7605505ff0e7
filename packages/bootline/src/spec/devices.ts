/** The spec's devices and channels: networks, passthrough, serial, agent, display, migration, crypto. */
import type { PortSpec, Properties, RuntimeFileSpec } from "./values.js";

/** Options of the NIC (guest device) that every network entry has. */
export interface NicOptions {
  /** NIC device model, e.g. `virtio-net-pci`, `e1000`, `e1000e`, `rtl8139`, `i82551`. Default `virtio-net-pci`. */
  readonly model?: string;
  /** `mac=`: unicast `xx:xx:xx:xx:xx:xx`. Default: QEMU assigns one. */
  readonly mac?: string;
  /** Guest slot: `03`, `0x3`, `03.0`, or `00:03.0` on the root bus. */
  readonly pciAddress?: string;
  /** `bus=`, e.g. `pci.0`, or a bridge's id. */
  readonly bus?: string;
  /** virtio only: `disable-modern=on` (legacy virtio 0.9). */
  readonly disableModern?: boolean;
  /**
   * `romfile=`: the NIC's option ROM (PXE boot code), a path or a name in QEMU's data
   * directory. `""` means no option ROM at all (`romfile=`): a guest booted with
   * `-kernel` never runs it, and QEMU need not find the file. Default: the model's ROM.
   */
  readonly romfile?: string;
  /** Further device properties, e.g. `{ csum: false, mrg_rxbuf: false }`. */
  readonly deviceProperties?: Properties;
}

export interface HostForward {
  /** Default `tcp`. */
  readonly protocol?: "tcp" | "udp";
  /** Host IPv4 address to bind. Default `127.0.0.1`. */
  readonly hostAddress?: string;
  readonly hostPort: PortSpec;
  /** Guest IPv4 address. Default: QEMU's first DHCP address (10.0.2.15). */
  readonly guestAddress?: string;
  readonly guestPort: number;
}

/** User-mode (SLIRP) networking with host port forwards. */
export interface UserNetSpec extends NicOptions {
  readonly type: "user";
  /**
   * Forwards, structured or in QEMU's syntax `[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport`.
   * In the text form an empty host address means 127.0.0.1 (not QEMU's "all
   * interfaces"), and an empty host port means `"auto"`.
   */
  readonly hostForwards?: readonly (HostForward | string)[];
}

/** A tap device. Scripts are not run unless named (`script=no`, `downscript=no`). */
export interface TapNetSpec extends NicOptions {
  readonly type: "tap";
  /** `ifname=`: the host interface name (at most 15 bytes). */
  readonly ifname?: string;
  /** `script=`: absolute path of the script run with the interface name. Default none. */
  readonly script?: string;
  /** `downscript=`. Default none. */
  readonly downscript?: string;
  /** `vhost=on`: in-kernel vhost-net. */
  readonly vhost?: boolean;
}

/** A tap device attached to a host bridge by QEMU's bridge helper (`-netdev bridge`). */
export interface BridgeNetSpec extends NicOptions {
  readonly type: "bridge";
  /** The host bridge, e.g. `br0` (it must be allowed in the helper's `bridge.conf`). */
  readonly bridge: string;
  /** `helper=`: absolute path of the bridge helper. Default: QEMU's built-in path. */
  readonly helper?: string;
}

/** vhost-user networking (e.g. to DPDK): a unix socket chardev and a virtio-net NIC. */
export interface VhostUserNetSpec extends NicOptions {
  readonly type: "vhost-user";
  /** The vhost-user socket (absolute, at most 107 bytes). */
  readonly socketPath: string;
  /**
   * QEMU listens on the socket and the backend connects as a client. QEMU 7.2 then
   * waits at start until the backend connects. Default false: QEMU connects to a
   * socket the backend already serves.
   */
  readonly server?: boolean;
  /** Queue pairs. Above 1 the NIC gets `mq=on` and `vectors=2*queues+2`. Default 1. */
  readonly queues?: number;
  /** `vhostforce=on`. Default true. */
  readonly vhostForce?: boolean;
}

export type NetSpec = UserNetSpec | TapNetSpec | BridgeNetSpec | VhostUserNetSpec;

export interface PassthroughSpec {
  /** Host PCI address `[DDDD:]BB:SS.F`. */
  readonly host: string;
  /** Default `vfio-pci`. `pci-assign` is legacy KVM device assignment (QEMU < 2.12 only). */
  readonly driver?: "vfio-pci" | "pci-assign";
  /** Guest slot, as for NICs. */
  readonly pciAddress?: string;
  /** `bus=`. */
  readonly bus?: string;
  /** Further device properties, e.g. `{ "x-vga": true }`. */
  readonly deviceProperties?: Properties;
}

export type SerialSpec =
  | {
      /** A TCP server speaking telnet (QEMU sends option negotiation first). */
      readonly type: "telnet";
      /** Address to bind. Default `127.0.0.1`. */
      readonly host?: string;
      readonly port: PortSpec;
      readonly log?: RuntimeFileSpec;
    }
  | {
      /** A raw TCP server (no telnet negotiation). */
      readonly type: "tcp";
      readonly host?: string;
      readonly port: PortSpec;
      readonly log?: RuntimeFileSpec;
    }
  | {
      /** A unix socket server. Default path `<runtimeDir>/serial.sock`. */
      readonly type: "unix";
      readonly path?: string;
      /** Log everything the guest prints, from the first byte. Default path `<runtimeDir>/serial.log`. */
      readonly log?: RuntimeFileSpec;
    };

export interface GuestAgentSpec {
  /** Default `<runtimeDir>/qga.sock`. */
  readonly path?: string;
  /** Guest slot of the virtio-serial controller. */
  readonly pciAddress?: string;
}

export type VgaType = "std" | "virtio" | "cirrus" | "qxl" | "none";

export type DisplaySpec =
  | { readonly type: "none" }
  | {
      readonly type: "vnc";
      /** VNC on a TCP port (the default). */
      readonly socket?: "tcp";
      /** Address to bind. Default `127.0.0.1`. */
      readonly host?: string;
      /** VNC display number (TCP port 5900 + display), or `"auto"`. */
      readonly display: number | "auto";
      /** `-vga`. Default `std`. */
      readonly vga?: VgaType;
    }
  | {
      readonly type: "vnc";
      /** VNC on a unix socket (`-vnc unix:PATH`): no TCP port for other local users to reach. */
      readonly socket: "unix";
      /** Default `<runtimeDir>/vnc.sock`. */
      readonly path?: string;
      /** `-vga`. Default `std`. */
      readonly vga?: VgaType;
    };

/** `-incoming`: wait for an incoming live migration, on a TCP port or a unix socket. */
export type IncomingSpec =
  | {
      /** A TCP listener (the default). */
      readonly type?: "tcp";
      /** Address to bind. Default `127.0.0.1`. */
      readonly host?: string;
      readonly port: PortSpec;
    }
  | {
      /** A unix socket (`-incoming unix:PATH`): no TCP port for other local users to reach. */
      readonly type: "unix";
      /** Default `<runtimeDir>/incoming.sock`. */
      readonly path?: string;
    };

/** A virtio random-number device, fed from a host file (`-object rng-random` + `-device virtio-rng-pci`). */
export interface RngSpec {
  /** The host's entropy source, an absolute path. Default `/dev/urandom`. */
  readonly source?: string;
  /** Guest slot of the `virtio-rng-pci` device. */
  readonly pciAddress?: string;
}

export type CryptoSpec =
  | {
      /** A vhost-user crypto backend (e.g. DPDK's vhost_crypto) that QEMU connects to at start: it must be serving. */
      readonly backend: "vhost-user";
      /** Default `<runtimeDir>/crypto<N>.sock`. */
      readonly socketPath?: string;
      readonly pciAddress?: string;
    }
  | {
      /** QEMU's built-in software backend (`cryptodev-backend-builtin`). */
      readonly backend: "builtin";
      readonly pciAddress?: string;
    };
