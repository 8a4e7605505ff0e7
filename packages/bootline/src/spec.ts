/**
 * The typed description of a QEMU VM. Everything the reference `qemu_kvm.py` could
 * put on a boot line has a field here; `buildArgs` turns a spec into argv.
 *
 * Conventions:
 * - Every listener binds `127.0.0.1` unless the spec names another address.
 * - Runtime files (sockets, pidfile, logs) are either given as absolute paths or
 *   derived from `runtimeDir` (e.g. `qmp: {}` → `<runtimeDir>/qmp.sock`). Nothing
 *   defaults to `/tmp`: a needed path without `runtimeDir` is an error.
 * - A port may be `"auto"`: the caller leases one (see `unassignedPorts` and
 *   `assignPorts`) before building.
 * - An optional object present means "on": `qmp: {}` adds a QMP socket.
 */

/** A TCP (or UDP) port number 1–65535, or `"auto"` for one the caller assigns later. */
export type PortSpec = number | "auto";

/** An extra `key=value` QEMU property; booleans become `on`/`off`. */
export type PropertyValue = string | number | boolean;
export type Properties = Readonly<Record<string, PropertyValue>>;

export interface VmSpec {
  /** `-name`. Letters, digits, `.`, `_`, `-`; at most 63 characters; starts with a letter or digit. */
  readonly name: string;
  /** The QEMU binary for `buildCommand` (a path, or a name looked up in PATH). Default `qemu-system-x86_64`. */
  readonly emulator?: string;
  /** Absolute directory for derived runtime files (sockets, pidfile, logs). The caller creates it (mode 0700). */
  readonly runtimeDir?: string;
  /** `-machine`. Default: QEMU's default machine. */
  readonly machine?: MachineSpec;
  /** `-accel`. Default `"kvm"`. */
  readonly accelerator?: "kvm" | "tcg" | "hvf" | "whpx" | "xen";
  /** Keep QEMU's default devices (no `-nodefaults`). Default false: the spec lists every device. */
  readonly defaultDevices?: boolean;
  /** `-daemonize`. Default false. */
  readonly daemonize?: boolean;
  /** `-pidfile`. Default path `<runtimeDir>/qemu.pid`. */
  readonly pidfile?: RuntimeFileSpec;
  /** `-cpu`, `-smp`, and the host CPUs for `buildCommand`'s `taskset` wrapper. */
  readonly cpu?: CpuSpec;
  /** `-m`, with an optional shared file (hugepage) or memfd backend on a NUMA node. */
  readonly memory?: MemorySpec;
  /** `-drive`, one per entry; ids `drive0`, `drive1`… */
  readonly drives?: readonly DriveSpec[];
  /** `-drive if=pflash`, one per entry in unit order (firmware code, then variables). */
  readonly pflash?: readonly PflashSpec[];
  /** `-kernel`, `-initrd`, `-append`. */
  readonly kernel?: KernelSpec;
  /** Networks: each entry is one backend (`-netdev`, id `netN`) and its NIC (`-device`, id `nicN`). */
  readonly nets?: readonly NetSpec[];
  /** PCI passthrough, one `-device vfio-pci` (or legacy `pci-assign`) per entry; ids `pt0`, `pt1`… */
  readonly passthrough?: readonly PassthroughSpec[];
  /** A QMP monitor on a unix socket. Default path `<runtimeDir>/qmp.sock`. */
  readonly qmp?: RuntimeFileSpec;
  /** A legacy HMP monitor on a unix socket. Default path `<runtimeDir>/monitor.sock`. */
  readonly monitor?: RuntimeFileSpec;
  /** The serial console (first serial port). */
  readonly serial?: SerialSpec;
  /** The QEMU guest agent channel: a unix socket, virtio-serial and `org.qemu.guest_agent.0`. */
  readonly guestAgent?: GuestAgentSpec;
  /** Display. Default `{ type: "none" }`. */
  readonly display?: DisplaySpec;
  /** `-incoming tcp:HOST:PORT`: start waiting for an incoming live migration. */
  readonly incoming?: IncomingSpec;
  /** virtio-crypto devices, each with a vhost-user or built-in backend. */
  readonly crypto?: readonly CryptoSpec[];
  /** Raw arguments appended as they are (nothing escapes or checks them beyond NUL bytes and id clashes). */
  readonly extraArgs?: readonly string[];
}

export interface MachineSpec {
  /** Machine type, e.g. `q35`, `pc`, `virt`. */
  readonly type?: string;
  /** Arm `virt` only: GIC version (`gic-version`). */
  readonly gicVersion?: "2" | "3" | "4" | "host" | "max";
  /** Further `-machine` properties, e.g. `{ "kernel-irqchip": "split" }`. */
  readonly properties?: Properties;
}

/** A runtime file: present means on; `path` defaults to a fixed name in `runtimeDir`. */
export interface RuntimeFileSpec {
  /** Absolute path. Unix socket paths must fit in 107 bytes. */
  readonly path?: string;
}

export interface CpuSpec {
  /** `-cpu`, e.g. `host`, `max`, `Skylake-Server`. Default: QEMU's default model. */
  readonly model?: string;
  /** `-smp`: number of vCPUs, 1–1024. Default: QEMU's default (1). */
  readonly count?: number;
  /** Host CPUs to run QEMU on (`taskset -c` in `buildCommand`). */
  readonly hostCpus?: readonly number[];
}

export interface MemorySpec {
  /** Guest RAM in MiB. */
  readonly sizeMiB: number;
  /**
   * Back guest RAM with a shared file (e.g. on a hugetlbfs mount: vhost-user needs
   * this) or memfd, as `-object memory-backend-…,id=mem0` plus `-numa node,memdev=mem0`.
   */
  readonly backend?: MemoryBackendSpec;
}

export type MemoryBackendSpec =
  | {
      readonly type: "file";
      /** A directory (a hugetlbfs mount such as `/dev/hugepages`, QEMU creates a file in it) or a file. */
      readonly path: string;
      /** `share=on`. Default true. */
      readonly share?: boolean;
      /** `prealloc=on`: allocate all memory at start. Default true. */
      readonly prealloc?: boolean;
    }
  | {
      readonly type: "memfd";
      /** `share=on`. Default true. */
      readonly share?: boolean;
      /** `hugetlb=on`. Default false. */
      readonly hugepages?: boolean;
      /** `prealloc=on`. Default false. */
      readonly prealloc?: boolean;
    };

export type DriveInterface = "virtio" | "ide" | "scsi" | "sd" | "floppy" | "mtd" | "none";

export interface DriveSpec {
  /** The image file (any path; commas and spaces are fine). */
  readonly path: string;
  /** `format=`, e.g. `raw`, `qcow2`. Default: QEMU probes (it warns for raw images). */
  readonly format?: string;
  /** `if=`. Default: the machine's default (IDE on `pc`). */
  readonly interface?: DriveInterface;
  /** `index=`: position on the interface. */
  readonly index?: number;
  /** `media=`. Default `disk`. */
  readonly media?: "disk" | "cdrom";
  /** `readonly=on`. */
  readonly readOnly?: boolean;
  /** `snapshot=on`: writes go to a temporary overlay. */
  readonly snapshot?: boolean;
  /** `cache=`. */
  readonly cache?: "none" | "writeback" | "writethrough" | "directsync" | "unsafe";
}

export interface PflashSpec {
  readonly path: string;
  /** Default `raw`. */
  readonly format?: string;
  /** `readonly=on` (firmware code). */
  readonly readOnly?: boolean;
}

export interface KernelSpec {
  /** `-kernel`. */
  readonly path: string;
  /** `-initrd`. */
  readonly initrdPath?: string;
  /** `console=DEVICE[,BAUD]` on the kernel command line. */
  readonly console?: { readonly device: string; readonly baudRate?: number };
  /** `root=` on the kernel command line. */
  readonly root?: string;
  /** More kernel command line, appended after `console=` and `root=`. */
  readonly append?: string;
}

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

export type DisplaySpec =
  | { readonly type: "none" }
  | {
      readonly type: "vnc";
      /** Address to bind. Default `127.0.0.1`. */
      readonly host?: string;
      /** VNC display number (TCP port 5900 + display), or `"auto"`. */
      readonly display: number | "auto";
      /** `-vga`. Default `std`. */
      readonly vga?: "std" | "virtio" | "cirrus" | "qxl" | "none";
    };

export interface IncomingSpec {
  /** Address to bind. Default `127.0.0.1`. */
  readonly host?: string;
  readonly port: PortSpec;
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
