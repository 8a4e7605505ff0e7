/** Keys of the VM itself: `name`, `virt_type`, `enable_kvm`, `machine`, `pid_file`, `cpu`, `mem`, `daemon`. */
import { parseCpuList } from "@qemu-kvm/core";
import { type KeyHandler, oneEntry } from "../draft.js";

export const name: KeyHandler = (context) => {
  const entry = oneEntry(context, ["name"]);
  const value = entry?.get("name");
  if (value) context.draft.name = value;
};

export const virtType: KeyHandler = ({ reader, key }) => {
  const entry = reader.single(key);
  const type = entry?.get("virt_type") ?? [...(entry?.keys() ?? [])][0];
  if (type !== undefined && type !== "KVM")
    reader.issue(key, `${type} is not QEMU/KVM: only KVM sections map onto a QEMU spec`);
};

export const enableKvm: KeyHandler = (context) => {
  const entry = oneEntry(context, ["enable"]);
  if (!entry) return;
  const enable = context.reader.yesNo(context.key, "enable", entry.get("enable"));
  if (enable !== undefined) context.draft.accelerator = enable ? "kvm" : "tcg";
};

export const machine: KeyHandler = (context) => {
  const entry = oneEntry(context, ["machine", "opt_gic_version"]);
  if (!entry) return;
  const type = entry.get("machine");
  const gic = entry.get("opt_gic_version");
  context.draft.machine = {
    ...(type ? { type } : {}),
    // Any other text is reported by the spec's validation, with this key.
    ...(gic ? { gicVersion: gic as "2" | "3" } : {}),
  };
};

export const pidFile: KeyHandler = (context) => {
  const path = oneEntry(context, ["name"])?.get("name");
  if (path) context.draft.pidfile = { path };
};

/**
 * The first CPU a valid CPU list names twice (`3 3 4`, `3-5 4`), or undefined:
 * core's reading merges repeats, but each CPU of `cpupin` is one of the VM's (DTS
 * leased as many CPUs as the list had entries).
 */
function repeatedCpu(list: string): number | undefined {
  const seen = new Set<number>();
  for (const item of list.trim().split(/[\s,]+/)) {
    const [low, high = low] = item.split("-").map(Number) as [number, number?];
    for (let cpu = low; cpu <= high; cpu++) {
      if (seen.has(cpu)) return cpu;
      seen.add(cpu);
    }
  }
  return undefined;
}

const SCENE_ONLY = "is virt_scene-only (CPUs chosen by the scene runner), not a QEMUKvm sub-option";

export const cpu: KeyHandler = (context) => {
  const { reader, key } = context;
  const entry = oneEntry(context, ["model", "number", "cpupin"], {
    rejected: { numa: SCENE_ONLY, numa_aware: SCENE_ONLY, skipcores: SCENE_ONLY },
  });
  if (!entry) return;
  const model = entry.get("model");
  const count = reader.integer(key, "number", entry.get("number") || undefined, 1, 1024);
  const pin = entry.get("cpupin");
  let hostCpus: number[] | undefined;
  if (pin) {
    // Core's reading takes a blank list as no CPUs: pinning needs at least one.
    hostCpus = parseCpuList(pin);
    const repeated = hostCpus?.length ? repeatedCpu(pin) : undefined;
    if (!hostCpus?.length) {
      reader.issue(key, `cpupin=${pin} is not a list of host CPU numbers`);
      hostCpus = undefined;
    } else if (repeated !== undefined) {
      reader.issue(key, `cpupin=${pin} names CPU ${repeated} twice`);
      hostCpus = undefined;
    }
  }
  context.draft.cpu = {
    ...(model ? { model } : {}),
    ...(count !== undefined ? { count } : {}),
    ...(hostCpus ? { hostCpus } : {}),
  };
};

export const mem: KeyHandler = (context) => {
  const { reader, key, options } = context;
  const entry = oneEntry(context, ["size", "hugepage"]);
  if (!entry) return;
  const sizeMiB = reader.integer(key, "size", entry.get("size"), 1, 16 * 1024 * 1024);
  if (sizeMiB === undefined) {
    if (!entry.has("size")) reader.issue(key, "size= (MiB) is missing");
    return;
  }
  const hugepage = reader.yesNo(key, "hugepage", entry.get("hugepage"));
  if (!hugepage) {
    context.draft.memory = { sizeMiB };
    return;
  }
  if (!options.hugepagePath) {
    reader.issue(
      key,
      "hugepage=yes needs the host's hugetlbfs mount: pass options.hugepagePath (DTS used the DUT's hugepage path)",
    );
    return;
  }
  context.draft.memory = {
    sizeMiB,
    backend: { type: "file", path: options.hugepagePath, share: true, prealloc: true },
  };
};

export const daemon: KeyHandler = (context) => {
  const entry = oneEntry(context, ["enable"]);
  if (!entry) return;
  const enable = context.reader.yesNo(context.key, "enable", entry.get("enable"));
  if (enable !== undefined) context.draft.daemonize = enable;
};
