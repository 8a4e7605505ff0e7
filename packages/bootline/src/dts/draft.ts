/**
 * The spec of one section while its keys are read, starting from QEMUKvm's own
 * defaults, and how a spec field maps back to the key it came from.
 */
import type {
  CryptoSpec,
  DisplaySpec,
  NetSpec,
  PassthroughSpec,
  SerialSpec,
} from "../spec/devices.js";
import type { DriveSpec, PflashSpec, VmSpec } from "../spec/vm-spec.js";
import type { Entry, KeyValue } from "./entries.js";
import type { Note, SectionReader } from "./section-reader.js";
import type { DtsReadOptions, DtsVm } from "./types.js";

export interface Draft {
  name: string;
  accelerator?: VmSpec["accelerator"];
  machine?: { type?: string; gicVersion?: "2" | "3" | "4" | "host" | "max" };
  pidfile: { path?: string };
  daemonize: boolean;
  cpu?: { model?: string; count?: number; hostCpus?: number[] };
  memory?: VmSpec["memory"];
  drives: DriveSpec[];
  pflash: PflashSpec[];
  kernel?: VmSpec["kernel"];
  nets: NetSpec[];
  /** For each net, the key it came from (for issue paths). */
  netKeys: string[];
  passthrough: PassthroughSpec[];
  monitor?: { path?: string };
  serial?: SerialSpec;
  guestAgent: boolean;
  display?: DisplaySpec;
  incoming?: VmSpec["incoming"];
  crypto: CryptoSpec[];
  extraArgs: string[];
  login?: { user?: string; password?: string };
  start?: DtsVm["start"];
  control: DtsVm["control"];
  guestDriver?: { name?: string; mode?: string };
  emulators: string[];
  notes: Note[];
}

/** What a key handler works with. */
export interface KeyContext {
  readonly reader: SectionReader;
  readonly key: KeyValue;
  readonly draft: Draft;
  readonly options: DtsReadOptions;
  /** Where listeners bind: `options.listenAddress`, default `127.0.0.1`. */
  readonly listenAddress: string;
}

/** Maps one key of a section onto the draft, reporting what it cannot map. */
export type KeyHandler = (context: KeyContext) => void;

/** The key's one entry, when it has exactly one and it has only `allowed` sub-options. */
export function oneEntry(
  { reader, key }: KeyContext,
  allowed: readonly string[],
  special: { rejected?: Record<string, string> } = {},
): Entry | undefined {
  const entry = reader.single(key);
  return entry && reader.only(key, entry, 0, allowed, special) ? entry : undefined;
}

/**
 * QEMUKvm's own defaults (`set_vm_default`), under everything: the section's
 * name, KVM, a pidfile, `-daemonize`, an HMP monitor, and one e1000 NIC on user
 * networking forwarding an assigned host port to guest port 22.
 */
export function newDraft(section: string, listenAddress: string): Draft {
  return {
    name: section,
    accelerator: "kvm",
    pidfile: {},
    daemonize: true,
    drives: [],
    pflash: [],
    nets: [
      {
        type: "user",
        model: "e1000",
        hostForwards: [{ hostAddress: listenAddress, hostPort: "auto", guestPort: 22 }],
      },
    ],
    netKeys: ["net"],
    passthrough: [],
    monitor: {},
    guestAgent: false,
    crypto: [],
    extraArgs: [],
    control: "telnet",
    emulators: [],
    notes: [],
  };
}

/** The spec a finished draft describes. */
export function draftSpec(draft: Draft, options: DtsReadOptions, listenAddress: string): VmSpec {
  return {
    name: draft.name,
    ...(draft.emulators.length === 1 ? { emulator: draft.emulators[0]! } : {}),
    ...(options.runtimeDir !== undefined ? { runtimeDir: options.runtimeDir } : {}),
    ...(draft.machine ? { machine: draft.machine } : {}),
    ...(draft.accelerator ? { accelerator: draft.accelerator } : {}),
    ...(draft.daemonize ? { daemonize: true } : {}),
    pidfile: draft.pidfile,
    ...(draft.cpu ? { cpu: draft.cpu } : {}),
    ...(draft.memory ? { memory: draft.memory } : {}),
    ...(draft.drives.length ? { drives: draft.drives } : {}),
    ...(draft.pflash.length ? { pflash: draft.pflash } : {}),
    ...(draft.kernel ? { kernel: draft.kernel } : {}),
    ...(draft.nets.length ? { nets: draft.nets } : {}),
    ...(draft.passthrough.length ? { passthrough: draft.passthrough } : {}),
    ...(draft.monitor ? { monitor: draft.monitor } : {}),
    ...(draft.serial ? { serial: draft.serial } : {}),
    ...(draft.guestAgent ? { guestAgent: {} } : {}),
    display: draft.display ?? { type: "vnc", host: listenAddress, display: "auto" },
    ...(draft.incoming ? { incoming: draft.incoming } : {}),
    ...(draft.crypto.length ? { crypto: draft.crypto } : {}),
    ...(draft.extraArgs.length ? { extraArgs: draft.extraArgs } : {}),
  };
}

/** The key each top-level spec field comes from. */
const KEY_OF_FIELD: Readonly<Record<string, string>> = {
  name: "name",
  machine: "machine",
  accelerator: "enable_kvm",
  daemonize: "daemon",
  pidfile: "pid_file",
  cpu: "cpu",
  memory: "mem",
  drives: "disk",
  pflash: "pflash",
  kernel: "kernel",
  passthrough: "device",
  monitor: "monitor",
  serial: "control",
  guestAgent: "control",
  display: "vnc",
  incoming: "migration",
  crypto: "crypto",
  extraArgs: "usercmd",
  emulator: "qemu",
};

/** The key a spec field came from, to report spec validation issues as config issues. */
export function keyOfField(path: string, draft: Draft): string | undefined {
  const net = /^nets\[(\d+)\]/.exec(path);
  if (net) return draft.netKeys[Number(net[1])];
  const head = /^[A-Za-z]+/.exec(path)?.[0] ?? "";
  return Object.hasOwn(KEY_OF_FIELD, head) ? KEY_OF_FIELD[head] : undefined;
}
