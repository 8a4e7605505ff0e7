/** What the argv builders share: option-list pieces and the values validation guarantees. */
import { formatGuestSlot } from "@qemu-kvm/core";
import { InvalidSpecError } from "../errors.js";
import type { DevicePlacement } from "../spec/resolved-spec.js";
import { type OptionEntry, writeOptionList } from "../syntax/option-list.js";

/**
 * A value validation guarantees when building (strict mode): a path derived from
 * `runtimeDir`, an assigned port. Should it ever be missing, the spec field is
 * named in an `InvalidSpecError`, as validation would have.
 */
export function known<T>(value: T | undefined | "auto", path: string): T {
  if (value === undefined || value === "auto")
    throw new InvalidSpecError([{ path, message: "has no value to build with" }]);
  return value;
}

export const onOff = (value: boolean) => (value ? "on" : "off");

/** `bus=` and `addr=` of a device, when the spec places it. */
export function placementEntries(where: DevicePlacement): OptionEntry[] {
  const entries: OptionEntry[] = [];
  if (where.bus !== undefined) entries.push(["bus", where.bus]);
  if (where.slot) entries.push(["addr", formatGuestSlot(where.slot)]);
  return entries;
}

/** `host:port` as QEMU's address syntax writes it (IPv6 in brackets). */
export function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A unix socket chardev QEMU listens on, without waiting for a client. */
export function socketChardev(id: string, path: string, logPath?: string): string {
  return writeOptionList([
    [undefined, "socket"],
    ["id", id],
    ["path", path],
    ["server", "on"],
    ["wait", "off"],
    ...(logPath !== undefined ? ([["logfile", logPath]] as const) : []),
  ]);
}
