/** `extraArgs`: raw arguments, checked for NUL bytes and for ids the builder gives out. */
import { describeValue } from "@qemu-kvm/core";
import type { ResolvedSpec } from "../spec/resolved-spec.js";
import { ids } from "../syntax/ids.js";
import { splitOptionList } from "../syntax/option-list.js";
import type { Context } from "./context.js";
import type { Reader } from "./reader.js";

/** Ids the builder gives out for a resolved spec, for the clash check with `extraArgs`. */
export function builderIds(spec: Omit<ResolvedSpec, "extraArgs">): Set<string> {
  const set = new Set<string>();
  for (const net of spec.nets) {
    set.add(net.netdevId).add(net.nicId);
    if (net.type === "vhost-user") set.add(net.chardevId);
  }
  for (const drive of spec.drives) set.add(drive.id);
  for (const flash of spec.pflash) set.add(flash.id);
  for (const device of spec.passthrough) set.add(device.id);
  for (const crypto of spec.crypto)
    set.add(crypto.chardevId).add(crypto.backendId).add(crypto.deviceId);
  if (spec.memory?.backend) set.add(ids.memoryBackend);
  if (spec.qmp) set.add(ids.qmpChardev);
  if (spec.monitor) set.add(ids.monitorChardev);
  if (spec.serial) set.add(ids.serialChardev);
  if (spec.guestAgent) set.add(ids.guestAgentChardev).add(ids.virtioSerial).add(ids.guestAgentPort);
  if (spec.rng) set.add(ids.rngBackend).add(ids.rngDevice);
  return set;
}

export function readExtraArgs(context: Context, reader: Reader, taken: Set<string>): string[] {
  const args: string[] = [];
  for (const { value, path } of reader.list("extraArgs")) {
    if (typeof value !== "string") {
      context.issues.add(path, `is ${describeValue(value)}`, "a string");
      continue;
    }
    if (value.includes("\0")) {
      context.issues.add(path, "contains a NUL byte, which no process argument can carry");
      continue;
    }
    if (!value.startsWith("-")) {
      for (const part of splitOptionList(value)) {
        if (part.key === "id" && taken.has(part.value))
          context.issues.add(
            path,
            `id ${describeValue(part.value)} is already given by the builder to a device of this spec`,
            "another id",
          );
      }
    }
    args.push(value);
  }
  return args;
}
