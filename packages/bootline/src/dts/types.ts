/** The public shapes of the DTS reader: its options, its result and section kinds. */
import type { VmSpec } from "../spec/vm-spec.js";

export interface DtsReadOptions {
  /** File name for messages, e.g. `conf/sriov_kvm.cfg`. */
  readonly file?: string;
  /** File name of the defaults for messages. Default `virt_global.cfg`. */
  readonly defaultsFile?: string;
  /** Read only these sections (VM names). Default: every VM section of the file. */
  readonly sections?: readonly string[];
  /** Put into each spec's `runtimeDir` (sockets, pidfile). Default: left for the caller. */
  readonly runtimeDir?: string;
  /** The host's hugetlbfs mount, for `mem = hugepage=yes` (DTS used the DUT's hugepage path). */
  readonly hugepagePath?: string;
  /**
   * The address for listeners where DTS bound the DUT's IP or every interface
   * (host forwards without an address, telnet serial, VNC, migration). Default `127.0.0.1`.
   */
  readonly listenAddress?: string;
}

/** One VM section of a DTS config, mapped. */
export interface DtsVm {
  readonly section: string;
  /** The spec. Ports DTS allocated itself are `"auto"` (see `unassignedPorts`); runtime files need `runtimeDir`. */
  readonly spec: VmSpec;
  /** `login`: the guest account DTS logs in with. */
  readonly login?: { readonly user?: string; readonly password?: string };
  /** `start`: readiness settings. */
  readonly start?: {
    readonly bootTimeoutMs?: number;
    readonly loginTimeoutMs?: number;
    readonly loginPrompt?: string;
    readonly passwordPrompt?: string;
  };
  /** `control`: how DTS reached the guest: the guest agent, a telnet serial console, or a unix socket serial console. */
  readonly control: "qga" | "telnet" | "socket";
  /** `def_driver`: the driver DTS binds the guest's devices to. */
  readonly guestDriver?: { readonly name?: string; readonly mode?: string };
  /** `qemu`: QEMU binaries in order. With one, it is also `spec.emulator`; with several (a suite testing QEMU versions), pick one. */
  readonly emulators: readonly string[];
  /** Keys accepted but ignored, and mappings that differ from what DTS did, with the reason. */
  readonly notes: readonly { readonly key: string; readonly message: string }[];
}

/** What a section of a DTS config file is. */
export interface DtsSectionInfo {
  readonly name: string;
  /** `vm`: holds VM keys; `hypervisor-defaults`: `[KVM]`, `[LIBVIRT]`, `[XEN]` of virt_global.cfg; `other`: `[suite]`, `[scene]`… */
  readonly kind: "vm" | "hypervisor-defaults" | "other";
}
