/** What the sections of a DTS config file are: VMs, hypervisor defaults, or other. */
import { checkString } from "../arguments.js";
import { type IniDocument, parseIni } from "./ini.js";
import type { DtsSectionInfo } from "./types.js";

/**
 * Every key DTS knows in a VM section (handled, ignored, or rejected with a
 * reason), in the order they are read: `net` entries come before `device` ones.
 */
export const VM_KEYS = [
  "name",
  "virt_type",
  "enable_kvm",
  "machine",
  "pid_file",
  "cpu",
  "mem",
  "disk",
  "pflash",
  "kernel",
  "start",
  "login",
  "net",
  "device",
  "monitor",
  "migration",
  "control",
  "qga",
  "vnc",
  "daemon",
  "usercmd",
  "crypto",
  "qemu",
  "def_driver",
  "os",
  "serial_port",
  "vif",
  "dev_gen",
] as const;

export type VmKey = (typeof VM_KEYS)[number];

const KNOWN: ReadonlySet<string> = new Set(VM_KEYS);

export function isVmKey(key: string): key is VmKey {
  return KNOWN.has(key);
}

const HYPERVISOR_SECTIONS = new Set(["KVM", "LIBVIRT", "XEN"]);
const NON_VM_SECTIONS = new Set(["suite", "scene"]);

/** Kinds of the sections of a parsed config, in file order (from their keys, not their values). */
export function sectionKinds(document: IniDocument): DtsSectionInfo[] {
  const defaultsHaveVmKeys = document.defaultKeys.some(isVmKey);
  return document.sections.map((section) => ({
    name: section.name,
    kind: HYPERVISOR_SECTIONS.has(section.name)
      ? "hypervisor-defaults"
      : !NON_VM_SECTIONS.has(section.name) && (defaultsHaveVmKeys || section.keys.some(isVmKey))
        ? "vm"
        : "other",
  }));
}

/** Kinds of the sections of a DTS config file, in file order. */
export function dtsSections(text: string): DtsSectionInfo[] {
  checkString(text, "text");
  return sectionKinds(parseIni(text));
}

/** The VM sections of a DTS config file (names, in file order). */
export function dtsVmSections(text: string): string[] {
  return dtsSections(text)
    .filter((section) => section.kind === "vm")
    .map((section) => section.name);
}
