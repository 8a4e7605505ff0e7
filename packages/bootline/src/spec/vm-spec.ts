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

import type {
  CryptoSpec,
  DisplaySpec,
  GuestAgentSpec,
  IncomingSpec,
  NetSpec,
  PassthroughSpec,
  RngSpec,
  SerialSpec,
} from "./devices.js";
import type { Properties, RuntimeFileSpec } from "./values.js";

export interface VmSpec {
  /** `-name`. Letters, digits, `.`, `_`, `-`; at most 63 characters; starts with a letter or digit. */
  readonly name: string;
  /**
   * `-uuid`: the machine's UUID, which the guest reads as its DMI/SMBIOS product UUID
   * (`/sys/class/dmi/id/product_uuid`). RFC 4122 text, 8-4-4-4-12 hex digits; written
   * in lower case. Default: QEMU's (all zeros).
   */
  readonly uuid?: string;
  /** The QEMU binary for `buildCommand` (a path, or a name looked up in PATH). Default `qemu-system-x86_64` (see `defaultEmulator`). */
  readonly emulator?: string;
  /** Absolute directory for derived runtime files (sockets, pidfile, logs). The caller creates it (mode 0700). */
  readonly runtimeDir?: string;
  /** `-machine`. Default: QEMU's default machine. */
  readonly machine?: MachineSpec;
  /** `-accel`. Default `"kvm"`. */
  readonly accelerator?: "kvm" | "tcg" | "hvf" | "whpx" | "xen";
  /** Keep QEMU's default devices (no `-nodefaults`). Default false: the spec lists every device. */
  readonly defaultDevices?: boolean;
  /** `-no-user-config`: QEMU reads no config file of the host (`/etc/qemu/*.conf`). Default false. */
  readonly noUserConfig?: boolean;
  /** `-daemonize`. Default false. */
  readonly daemonize?: boolean;
  /**
   * `-S`: QEMU starts with its vCPUs stopped, until QMP `cont`; a controller can connect
   * the console before the guest prints anything. Default false.
   */
  readonly paused?: boolean;
  /** `-no-reboot`: a guest reboot (or a kernel panic with `panic=-1`) makes QEMU exit. Default false. */
  readonly noReboot?: boolean;
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
  /** `-incoming tcp:HOST:PORT` or `-incoming unix:PATH`: start waiting for an incoming live migration. */
  readonly incoming?: IncomingSpec;
  /** A virtio random-number device: without one, a guest may wait for entropy (an SSH server's first connection). */
  readonly rng?: RngSpec;
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
  /**
   * `console=DEVICE[,BAUD]` on the kernel command line, unless `append` already has a
   * `console=` for the same device (the guest's own command line: it is kept as it is).
   * A `console=` for another device is kept too: Linux writes to every console named.
   */
  readonly console?: { readonly device: string; readonly baudRate?: number };
  /** `root=` on the kernel command line. */
  readonly root?: string;
  /** More kernel command line, appended after `console=` and `root=`. */
  readonly append?: string;
}
