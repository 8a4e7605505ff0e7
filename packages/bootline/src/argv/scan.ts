/**
 * One pass over QEMU's options, collecting what the facts are made of. Each
 * option that matters has a small handler in a table; every other option is
 * skipped with its argument (QEMU 7.2's options take one, but the flags below).
 */
import { InvalidArgumentError } from "@qemu-kvm/core";
import { lastOption, type OptionPart, splitOptionList } from "../syntax/option-list.js";
import type { Chardev } from "./endpoints.js";

/** QEMU 7.2 options that take no argument (every other option takes exactly one). */
const FLAGS = new Set([
  "S",
  "s",
  "snapshot",
  "nographic",
  "daemonize",
  "enable-kvm",
  "no-kvm",
  "no-reboot",
  "no-shutdown",
  "nodefaults",
  "nodefconfig",
  "no-user-config",
  "no-hpet",
  "no-acpi",
  "no-fd-bootchk",
  "win2k-hack",
  "full-screen",
  "usb",
  "version",
  "h",
  "help",
  "mem-prealloc",
  "enable-sync-profile",
  "only-migratable",
  "preconfig",
  "singlestep",
  "portrait",
  "xen-attach",
  "xen-domid-restrict",
  "async-teardown",
  "audio-help",
  "alt-grab",
  "ctrl-grab",
  "no-quit",
  "curses",
  "sdl",
  "no-frame",
  "semihosting",
  "enable-fips",
  "old-param",
]);

/** What `-s` stands for: a gdb stub on TCP port 1234 of every interface. */
const GDB_DEFAULT = "tcp::1234";

/** An option list with its implied first value under `kind` (the type, driver or QOM type). */
export interface Typed {
  readonly kind: string;
  readonly parts: readonly OptionPart[];
}

/** A drive's options: `-drive`'s (the legacy forms written the same way), or `-blockdev`'s. */
export interface ScannedDrive {
  readonly blockdev: boolean;
  readonly parts: readonly OptionPart[];
}

/** What the options of one command line say, before it is turned into facts. */
export interface Scanned {
  name?: string;
  uuid?: string;
  pidfile?: string;
  daemonize: boolean;
  /** `-S`. */
  paused: boolean;
  /** `-snapshot`: every `-drive` in snapshot mode. */
  snapshot: boolean;
  vnc?: string;
  incoming?: string;
  kernel?: string;
  initrd?: string;
  readonly drives: ScannedDrive[];
  readonly chardevs: Map<string, Chardev>;
  readonly mons: OptionPart[][];
  readonly qmp: string[];
  readonly monitors: string[];
  readonly serials: string[];
  readonly netdevs: Typed[];
  /** `-net user,…` / `-nic user,…`: legacy user networking with its forwards. */
  readonly legacyNets: OptionPart[][];
  readonly devices: Typed[];
  readonly objects: Typed[];
  /** `-gdb DEV` (and `-s`, which is `-gdb tcp::1234`): a gdb stub, as written. */
  readonly gdb: string[];
}

/** Options whose argument is a JSON object in QEMU ≥ 6 when it starts with `{`. */
function optionParts(value: string, impliedKey: string): OptionPart[] {
  if (!value.startsWith("{")) return splitOptionList(value, impliedKey);
  let object: unknown;
  try {
    object = JSON.parse(value);
  } catch {
    return [];
  }
  if (typeof object !== "object" || object === null) return [];
  const parts: OptionPart[] = [];
  for (const [key, raw] of Object.entries(object)) {
    const name = key === "driver" || key === "qom-type" ? impliedKey : key;
    if (typeof raw === "string") parts.push({ key: name, value: raw });
    else if (typeof raw === "number") parts.push({ key: name, value: String(raw) });
    else if (typeof raw === "boolean") parts.push({ key: name, value: raw ? "on" : "off" });
    else if (key === "hostfwd" && Array.isArray(raw))
      for (const entry of raw)
        if (typeof (entry as { str?: unknown } | null)?.str === "string")
          parts.push({ key, value: (entry as { str: string }).str });
  }
  return parts;
}

function typed(value: string, impliedKey: string): Typed {
  const parts = optionParts(value, impliedKey);
  return { kind: lastOption(parts, impliedKey) ?? "", parts };
}

type OptionHandler = (scanned: Scanned, value: string) => void;

/**
 * The legacy drive options, as the `-drive` options QEMU turns them into: the file
 * is taken as it is (no option-list syntax), with the interface or media implied.
 */
const LEGACY_DRIVES: Readonly<Record<string, readonly OptionPart[]>> = {
  hda: [],
  hdb: [],
  hdc: [],
  hdd: [],
  cdrom: [{ key: "media", value: "cdrom" }],
  fda: [{ key: "if", value: "floppy" }],
  fdb: [{ key: "if", value: "floppy" }],
  mtdblock: [{ key: "if", value: "mtd" }],
  sd: [{ key: "if", value: "sd" }],
  pflash: [{ key: "if", value: "pflash" }],
};

function legacyDrive(implied: readonly OptionPart[]): OptionHandler {
  return (scanned, value) =>
    scanned.drives.push({ blockdev: false, parts: [{ key: "file", value }, ...implied] });
}

const OPTIONS = new Map<string, OptionHandler>(
  Object.entries({
    name: (scanned, value) => {
      scanned.name = lastOption(splitOptionList(value, "guest"), "guest");
    },
    uuid: (scanned, value) => {
      scanned.uuid = value;
    },
    pidfile: (scanned, value) => {
      scanned.pidfile = value;
    },
    kernel: (scanned, value) => {
      scanned.kernel = value;
    },
    initrd: (scanned, value) => {
      scanned.initrd = value;
    },
    drive: (scanned, value) => {
      scanned.drives.push({ blockdev: false, parts: splitOptionList(value) });
    },
    blockdev: (scanned, value) => {
      scanned.drives.push({ blockdev: true, parts: optionParts(value, "driver") });
    },
    chardev: (scanned, value) => {
      const parts = splitOptionList(value, "backend");
      const id = lastOption(parts, "id");
      if (id !== undefined)
        scanned.chardevs.set(id, { backend: lastOption(parts, "backend") ?? "", parts });
    },
    mon: (scanned, value) => scanned.mons.push(splitOptionList(value, "chardev")),
    qmp: (scanned, value) => scanned.qmp.push(value),
    "qmp-pretty": (scanned, value) => scanned.qmp.push(value),
    monitor: (scanned, value) => scanned.monitors.push(value),
    serial: (scanned, value) => scanned.serials.push(value),
    netdev: (scanned, value) => scanned.netdevs.push(typed(value, "type")),
    net: legacyNet,
    nic: legacyNet,
    device: (scanned, value) => scanned.devices.push(typed(value, "driver")),
    object: (scanned, value) => scanned.objects.push(typed(value, "qom-type")),
    vnc: (scanned, value) => {
      scanned.vnc = value;
    },
    incoming: (scanned, value) => {
      scanned.incoming = value;
    },
    gdb: (scanned, value) => scanned.gdb.push(value),
  } satisfies Record<string, OptionHandler>),
);
for (const [option, implied] of Object.entries(LEGACY_DRIVES))
  OPTIONS.set(option, legacyDrive(implied));

function legacyNet(scanned: Scanned, value: string): void {
  const parts = splitOptionList(value, "type");
  if (lastOption(parts, "type") === "user") scanned.legacyNets.push(parts);
}

/** `offset`: where `args` starts in the argv the caller gave (after the program). */
function notString(args: readonly unknown[], index: number, offset: number): InvalidArgumentError {
  return new InvalidArgumentError(`argv[${offset + index}]`, "a string", args[index]);
}

/**
 * Reads QEMU's options (argv without the program): flags, options and their
 * arguments. Throws `ERR_INVALID_ARGUMENT` for an element that is not a string.
 */
export function scanOptions(args: readonly string[], offset = 0): Scanned {
  const scanned: Scanned = {
    daemonize: false,
    paused: false,
    snapshot: false,
    drives: [],
    chardevs: new Map(),
    mons: [],
    qmp: [],
    monitors: [],
    serials: [],
    netdevs: [],
    legacyNets: [],
    devices: [],
    objects: [],
    gdb: [],
  };
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (typeof arg !== "string") throw notString(args, index, offset);
    if (!arg.startsWith("-") || arg === "-") {
      // A bare disk image: QEMU opens it as -hda.
      if (arg !== "-")
        scanned.drives.push({ blockdev: false, parts: [{ key: "file", value: arg }] });
      continue;
    }
    const option = arg.slice(arg.charCodeAt(1) === 45 ? 2 : 1); // `-x` or `--x`
    if (FLAGS.has(option)) {
      if (option === "daemonize") scanned.daemonize = true;
      else if (option === "S") scanned.paused = true;
      else if (option === "snapshot") scanned.snapshot = true;
      else if (option === "s") scanned.gdb.push(GDB_DEFAULT);
      continue;
    }
    const value = args[++index];
    if (value === undefined) break;
    if (typeof value !== "string") throw notString(args, index, offset);
    OPTIONS.get(option)?.(scanned, value);
  }
  return scanned;
}
