/** The machine, CPU and memory sections: `machine`, `cpu`, `memory`. */
import { describeValue, MAX_CPU } from "@qemu-kvm/core";
import type { ResolvedMemoryBackend, ResolvedSpec } from "../spec/resolved-spec.js";
import { absolutePath, type Context, MODEL_NAME, properties } from "./context.js";
import { field, isPlainObject, Reader } from "./reader.js";

export function readMachine(context: Context, value: unknown): ResolvedSpec["machine"] {
  const reader = Reader.open(context.issues, value, "machine", [
    "type",
    "gicVersion",
    "properties",
  ]);
  if (!reader) return undefined;
  const type = reader.string("type", {
    test: (v) => MODEL_NAME.test(v),
    expected: "a machine type such as q35, pc or virt",
  });
  const gicVersion = reader.choice("gicVersion", ["2", "3", "4", "host", "max"] as const);
  if (gicVersion !== undefined && type !== undefined && !type.startsWith("virt"))
    context.issues.add(
      reader.at("gicVersion"),
      `applies to the Arm "virt" machine only, not ${describeValue(type)}`,
      'machine.type "virt"',
    );
  return {
    ...(type !== undefined ? { type } : {}),
    ...(gicVersion !== undefined ? { gicVersion } : {}),
    properties: properties(reader, "properties", ["type", "gic-version", "accel"]),
  };
}

export function readCpu(context: Context, value: unknown): ResolvedSpec["cpu"] {
  if (value === undefined) return { hostCpus: [] };
  const reader = Reader.open(context.issues, value, "cpu", ["model", "count", "hostCpus"]);
  if (!reader) return { hostCpus: [] };
  const model = reader.string("model", {
    test: (v) => MODEL_NAME.test(v),
    expected: "a CPU model name such as host, max or Skylake-Server",
  });
  const count = reader.integer("count", 1, 1024);
  const hostCpus: number[] = [];
  const seen = new Map<number, string>();
  const entries = reader.list("hostCpus");
  if (reader.has("hostCpus") && Array.isArray(reader.raw("hostCpus")) && entries.length === 0)
    context.issues.add(reader.at("hostCpus"), "is empty", "at least one host CPU number");
  for (const { value: cpu, path } of entries) {
    if (typeof cpu !== "number" || !Number.isInteger(cpu) || cpu < 0 || cpu > MAX_CPU) {
      context.issues.add(path, `is ${describeValue(cpu)}`, `a host CPU number 0–${MAX_CPU}`);
      continue;
    }
    const first = seen.get(cpu);
    if (first !== undefined) {
      context.issues.add(path, `CPU ${cpu} is listed twice: also ${first}`, "each host CPU once");
      continue;
    }
    seen.set(cpu, path);
    hostCpus.push(cpu);
  }
  const cpu: { model?: string; count?: number; hostCpus: number[] } = { hostCpus };
  if (model !== undefined) cpu.model = model;
  if (count !== undefined) cpu.count = count;
  return cpu;
}

export function readMemory(context: Context, value: unknown): ResolvedSpec["memory"] {
  const reader = Reader.open(context.issues, value, "memory", ["sizeMiB", "backend"]);
  if (!reader) return undefined;
  const sizeMiB = reader.integer("sizeMiB", 1, 16 * 1024 * 1024, {
    required: true,
    expected: "a whole number of MiB, 1–16777216",
  });
  let backend: ResolvedMemoryBackend | undefined;
  if (reader.has("backend")) {
    const raw = reader.raw("backend");
    const type = isPlainObject(raw) ? raw.type : undefined;
    const path = reader.at("backend");
    if (type === "file") {
      const file = Reader.open(context.issues, raw, path, ["type", "path", "share", "prealloc"]);
      const filePath = file && absolutePath(file, "path", true);
      if (file && filePath !== undefined)
        backend = {
          type: "file",
          path: filePath,
          share: file.boolean("share") ?? true,
          prealloc: file.boolean("prealloc") ?? true,
        };
    } else if (type === "memfd") {
      const memfd = Reader.open(context.issues, raw, path, [
        "type",
        "share",
        "hugepages",
        "prealloc",
      ]);
      if (memfd)
        backend = {
          type: "memfd",
          share: memfd.boolean("share") ?? true,
          hugepages: memfd.boolean("hugepages") ?? false,
          prealloc: memfd.boolean("prealloc") ?? false,
        };
    } else {
      context.issues.add(field(path, "type"), `is ${describeValue(type)}`, '"file" or "memfd"');
    }
  }
  if (sizeMiB === undefined) return undefined;
  return { sizeMiB, ...(backend ? { backend } : {}) };
}
