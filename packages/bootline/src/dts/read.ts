/**
 * Reads DPDK DTS VM config files (`conf/<suite>.cfg`, with the `[KVM]` section of
 * `conf/virt_global.cfg` as defaults) into specs. What QEMUKvm did with each key is
 * kept where it makes sense; where DTS was insecure or broken the spec does the safe
 * thing and says so in `notes`; what cannot map is an error naming the key and why.
 */
import { InvalidArgumentError } from "@qemu-kvm/core";
import { checkOptions, checkString, checkStringArray } from "../arguments.js";
import { DtsConfigError, type DtsConfigIssue, type SpecIssue } from "../errors.js";
import { DEFAULT_HOST } from "../spec/defaults.js";
import { isIpAddress } from "../syntax/ip-address.js";
import { resolveSpec } from "../validate/resolve.js";
import { type Draft, draftSpec, keyOfField, newDraft } from "./draft.js";
import { type KeyValue, parseEntries } from "./entries.js";
import { type IniSection, parseIni } from "./ini.js";
import { KEY_HANDLERS } from "./key-table.js";
import { SectionReader } from "./section-reader.js";
import { isVmKey, sectionKinds, VM_KEYS } from "./sections.js";
import type { DtsReadOptions, DtsSectionInfo, DtsVm } from "./types.js";

const DEFAULTS_FILE = "virt_global.cfg";

const NOT_A_VM_KEY = `is not a DTS VM key (known: ${[...VM_KEYS].sort().join(", ")})`;

const READ_OPTIONS = {
  file: checkString,
  defaultsFile: checkString,
  sections: checkStringArray,
  runtimeDir: checkString,
  hugepagePath: checkString,
  listenAddress: (value: unknown, field: string) => {
    if (typeof value !== "string" || !isIpAddress(value))
      throw new InvalidArgumentError(field, "an IP address such as 127.0.0.1 or 192.0.2.10", value);
  },
};

/** A section's keys with their entries, each with the sub-options given twice in one entry. */
function keyValues(
  source: IniSection,
  file: string | undefined,
): { keyValue: KeyValue; duplicates: Set<string> }[] {
  const keys: { keyValue: KeyValue; duplicates: Set<string> }[] = [];
  for (const [key, option] of source.options) {
    const { entries, duplicates } = parseEntries(option.value);
    const keyValue: KeyValue = {
      key,
      entries,
      line: option.line,
      section: source.name,
      ...(file !== undefined ? { file } : {}),
    };
    keys.push({ keyValue, duplicates: new Set(duplicates) });
  }
  return keys;
}

const givenTwice = (name: string) => `${name} is given twice in one entry`;

/** The keys of a section, then the `[KVM]` defaults it does not set (a key replaces a default whole). */
function collectKeys(
  reader: SectionReader,
  section: IniSection,
  defaults: readonly KeyValue[],
  options: DtsReadOptions,
): Map<string, KeyValue> {
  const keys = new Map<string, KeyValue>();
  for (const { keyValue, duplicates } of keyValues(section, options.file)) {
    for (const name of duplicates) reader.issue(keyValue, givenTwice(name));
    keys.set(keyValue.key, keyValue);
  }
  for (const keyValue of defaults) if (!keys.has(keyValue.key)) keys.set(keyValue.key, keyValue);
  return keys;
}

/** Every key onto the draft, in the fixed order of `VM_KEYS` (`net` before `device`). */
function applyKeys(
  reader: SectionReader,
  keys: ReadonlyMap<string, KeyValue>,
  draft: Draft,
  options: DtsReadOptions,
  listenAddress: string,
): void {
  const order: readonly string[] = VM_KEYS;
  const sorted = [...keys.values()].sort(
    (a, b) => (order.indexOf(a.key) >>> 0) - (order.indexOf(b.key) >>> 0),
  );
  for (const key of sorted) {
    if (!isVmKey(key.key)) {
      reader.issue(key, NOT_A_VM_KEY);
      continue;
    }
    KEY_HANDLERS[key.key]({ reader, key, draft, options, listenAddress });
  }
  if (!keys.has("net"))
    draft.notes.push({
      key: "net",
      message: `QEMUKvm's default: one e1000 NIC on user networking, forwarding a host port on ${listenAddress} (not the DUT's IP as in DTS; listenAddress option) to guest port 22`,
    });
  // QEMUKvm without a control key and without defaults: a telnet console on an allocated port.
  if (!keys.has("control")) draft.serial = { type: "telnet", host: listenAddress, port: "auto" };
}

/** A problem the spec's validation found, reported at the key the field came from. */
function asConfigIssue(
  issue: SpecIssue,
  draft: Draft,
  keys: ReadonlyMap<string, KeyValue>,
  section: string,
  options: DtsReadOptions,
): DtsConfigIssue {
  const key = keyOfField(issue.path, draft);
  const keyValue = key === undefined ? undefined : keys.get(key);
  const file = keyValue?.file ?? options.file;
  return {
    ...(file !== undefined ? { file } : {}),
    section: keyValue?.section ?? section,
    ...(keyValue ? { key: keyValue.key, line: keyValue.line } : key !== undefined ? { key } : {}),
    message: `${issue.path ? `${issue.path}: ` : ""}${issue.message}${issue.expected ? ` (expected ${issue.expected})` : ""}`,
  };
}

function readSection(
  section: IniSection,
  defaults: readonly KeyValue[],
  options: DtsReadOptions,
): { vm?: DtsVm; issues: DtsConfigIssue[] } {
  const reader = new SectionReader(section.name, options);
  const keys = collectKeys(reader, section, defaults, options);
  const listenAddress = options.listenAddress ?? DEFAULT_HOST;
  const draft = newDraft(section.name, listenAddress);
  applyKeys(reader, keys, draft, options, listenAddress);
  if (reader.issues.length) return { issues: reader.issues };
  const spec = draftSpec(draft, options, listenAddress);
  const checked = resolveSpec(spec, { allowUnassigned: true });
  const issues = checked.issues.map((issue) =>
    asConfigIssue(issue, draft, keys, section.name, options),
  );
  if (issues.length) return { issues };
  return {
    vm: {
      section: section.name,
      spec,
      ...(draft.login ? { login: draft.login } : {}),
      ...(draft.start ? { start: draft.start } : {}),
      control: draft.control,
      ...(draft.guestDriver ? { guestDriver: draft.guestDriver } : {}),
      emulators: draft.emulators,
      notes: draft.notes,
    },
    issues: [],
  };
}

/**
 * The VM keys of the `[KVM]` section of `virt_global.cfg`, read once for every
 * section, and the problems of that file: its syntax, and keys no VM has.
 */
function readDefaults(
  text: string,
  options: DtsReadOptions,
): { keys: KeyValue[]; issues: DtsConfigIssue[] } {
  const parsed = parseIni(text);
  const file = options.defaultsFile ?? DEFAULTS_FILE;
  const issues: DtsConfigIssue[] = parsed.errors.map((error) => ({
    file,
    line: error.line,
    message: error.message,
  }));
  const kvm = parsed.sections.find((section) => section.name === "KVM");
  if (!kvm) {
    issues.push({ file, message: "has no [KVM] section" });
    return { keys: [], issues };
  }
  const report = (keyValue: KeyValue, message: string) =>
    issues.push({ file, section: kvm.name, key: keyValue.key, line: keyValue.line, message });
  const keys: KeyValue[] = [];
  for (const { keyValue, duplicates } of keyValues(kvm, file)) {
    if (!isVmKey(keyValue.key)) {
      report(keyValue, NOT_A_VM_KEY);
      continue;
    }
    for (const name of duplicates) report(keyValue, givenTwice(name));
    keys.push(keyValue);
  }
  return { keys, issues };
}

/** Why a section that was asked for is not a VM, or undefined when it is one. */
function notAVm(name: string, kind: DtsSectionInfo["kind"] | undefined): string | undefined {
  if (kind === "vm") return undefined;
  if (kind === "hypervisor-defaults")
    return name === "KVM"
      ? "holds the KVM defaults of virt_global.cfg, not a VM: pass this file as `defaults`"
      : `holds ${name === "XEN" ? "Xen" : "libvirt"} defaults: only QEMU/KVM VMs map onto a QEMU spec`;
  return "holds no VM keys (it is not a VM section)";
}

/**
 * Reads the VM sections of a DTS config file into specs, keyed by section name.
 * `defaults` is the text of `virt_global.cfg`: its `[KVM]` keys apply to a section
 * that does not set them (a section's key replaces a default key whole). QEMUKvm's
 * built-in defaults apply under both: `-name` from the section, KVM, a pidfile and
 * an HMP monitor in `runtimeDir`, `-daemonize`, and one e1000 NIC on user networking
 * forwarding an assigned host port to guest port 22.
 *
 * Throws `DtsConfigError` listing every problem with its file, section, key and
 * line: INI syntax, unknown keys and sub-keys, libvirt-, Xen- and scene-only keys,
 * values out of range. Read a subset with `options.sections`. Invalid arguments
 * (an unknown option, a `listenAddress` that is not an IP address) throw
 * `ERR_INVALID_ARGUMENT` before anything is read.
 */
export function readDtsConfig(
  text: string,
  defaults?: string,
  options: DtsReadOptions = {},
): Map<string, DtsVm> {
  checkString(text, "text");
  if (defaults !== undefined) checkString(defaults, "defaults");
  checkOptions(options, READ_OPTIONS);
  const document = parseIni(text);
  const issues: DtsConfigIssue[] = document.errors.map((error) => ({
    ...(options.file !== undefined ? { file: options.file } : {}),
    line: error.line,
    message: error.message,
  }));
  const kvm = defaults === undefined ? { keys: [], issues: [] } : readDefaults(defaults, options);
  issues.push(...kvm.issues);
  const kinds = new Map(sectionKinds(document).map((section) => [section.name, section.kind]));
  const byName = new Map(document.sections.map((section) => [section.name, section]));
  const wanted =
    options.sections ?? [...kinds].filter(([, kind]) => kind === "vm").map(([name]) => name);
  const result = new Map<string, DtsVm>();
  for (const name of wanted) {
    const section = byName.get(name);
    const where = { ...(options.file !== undefined ? { file: options.file } : {}), section: name };
    const why = section ? notAVm(name, kinds.get(name)) : "no such section";
    if (!section || why) {
      issues.push({ ...where, ...(section ? { line: section.line } : {}), message: why! });
      continue;
    }
    const read = readSection(section, kvm.keys, options);
    issues.push(...read.issues);
    if (read.vm) result.set(name, read.vm);
  }
  if (issues.length) throw new DtsConfigError(issues);
  return result;
}
