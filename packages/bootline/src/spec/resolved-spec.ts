/**
 * Internal: a spec after validation, with every default applied, derived paths
 * filled in and ids chosen. Builders and fact extractors read only this form, so
 * what is checked, what is built and what is reported cannot drift apart.
 */
import type { GuestSlot } from "@qemu-kvm/core";
import type { PortSpec } from "./values.js";

export type Entries = readonly (readonly [string, string])[];

/** Where a device sits in the guest: a slot on a bus (undefined: QEMU picks). */
export interface DevicePlacement {
  readonly slot?: GuestSlot;
  readonly bus?: string;
}

export interface ResolvedForward {
  readonly protocol: "tcp" | "udp";
  readonly hostAddress: string;
  readonly hostPort: PortSpec;
  readonly guestAddress?: string;
  readonly guestPort: number;
  /** Spec field of the host port, e.g. `nets[0].hostForwards[1].hostPort`. */
  readonly field: string;
}

interface NetCommon extends DevicePlacement {
  readonly index: number;
  readonly netdevId: string;
  readonly nicId: string;
  readonly model: string;
  readonly mac?: string;
  readonly disableModern?: boolean;
  readonly romfile?: string;
  readonly deviceProperties: Entries;
}

export type ResolvedNet =
  | (NetCommon & { readonly type: "user"; readonly hostForwards: readonly ResolvedForward[] })
  | (NetCommon & {
      readonly type: "tap";
      readonly ifname?: string;
      readonly script?: string;
      readonly downscript?: string;
      readonly vhost: boolean;
    })
  | (NetCommon & { readonly type: "bridge"; readonly bridge: string; readonly helper?: string })
  | (NetCommon & {
      readonly type: "vhost-user";
      readonly chardevId: string;
      readonly socketPath: string;
      readonly server: boolean;
      readonly queues: number;
      readonly vhostForce: boolean;
    });

export type ResolvedMemoryBackend =
  | {
      readonly type: "file";
      readonly path: string;
      readonly share: boolean;
      readonly prealloc: boolean;
    }
  | {
      readonly type: "memfd";
      readonly share: boolean;
      readonly hugepages: boolean;
      readonly prealloc: boolean;
    };

/** A runtime file that is on; `path` is undefined only in lenient mode without `runtimeDir`. */
export interface RuntimeFile {
  readonly path?: string;
}

export type ResolvedSerial =
  | {
      readonly type: "telnet" | "tcp";
      readonly host: string;
      readonly port: PortSpec;
      readonly log?: RuntimeFile;
    }
  | { readonly type: "unix"; readonly path?: string; readonly log?: RuntimeFile };

export type ResolvedCrypto = DevicePlacement & {
  readonly index: number;
  readonly chardevId: string;
  readonly backendId: string;
  readonly deviceId: string;
} & (
    | { readonly backend: "vhost-user"; readonly socketPath?: string }
    | { readonly backend: "builtin" }
  );

export type ResolvedDisplay =
  | { readonly type: "none" }
  | {
      readonly type: "vnc";
      readonly socket: "tcp";
      readonly host: string;
      readonly display: number | "auto";
      readonly vga: string;
    }
  | { readonly type: "vnc"; readonly socket: "unix"; readonly path?: string; readonly vga: string };

export type ResolvedIncoming =
  | { readonly type: "tcp"; readonly host: string; readonly port: PortSpec }
  | { readonly type: "unix"; readonly path?: string };

export interface ResolvedSpec {
  readonly name: string;
  /** Lower case. */
  readonly uuid?: string;
  readonly emulator: string;
  readonly machine?: {
    readonly type?: string;
    readonly gicVersion?: string;
    readonly properties: Entries;
  };
  readonly accelerator: string;
  readonly defaultDevices: boolean;
  readonly noUserConfig: boolean;
  readonly daemonize: boolean;
  readonly paused: boolean;
  readonly noReboot: boolean;
  readonly pidfile?: RuntimeFile;
  readonly cpu: {
    readonly model?: string;
    readonly count?: number;
    readonly hostCpus: readonly number[];
  };
  readonly memory?: { readonly sizeMiB: number; readonly backend?: ResolvedMemoryBackend };
  readonly drives: readonly {
    readonly id: string;
    readonly path: string;
    readonly format?: string;
    readonly interface?: string;
    readonly index?: number;
    readonly media?: string;
    readonly readOnly: boolean;
    readonly snapshot: boolean;
    readonly cache?: string;
  }[];
  readonly pflash: readonly {
    readonly id: string;
    readonly unit: number;
    readonly path: string;
    readonly format: string;
    readonly readOnly: boolean;
  }[];
  readonly kernel?: {
    readonly path: string;
    readonly initrdPath?: string;
    readonly commandLine?: string;
  };
  readonly nets: readonly ResolvedNet[];
  readonly passthrough: readonly (DevicePlacement & {
    readonly id: string;
    readonly driver: "vfio-pci" | "pci-assign";
    /** Normalized `DDDD:BB:SS.F`. */
    readonly host: string;
    readonly deviceProperties: Entries;
  })[];
  readonly qmp?: RuntimeFile;
  readonly monitor?: RuntimeFile;
  readonly serial?: ResolvedSerial;
  readonly guestAgent?: RuntimeFile & { readonly slot?: GuestSlot };
  readonly display: ResolvedDisplay;
  readonly incoming?: ResolvedIncoming;
  readonly rng?: DevicePlacement & { readonly source: string };
  readonly crypto: readonly ResolvedCrypto[];
  readonly extraArgs: readonly string[];
}
