/** What the section readers share: the validation context and readers of common values. */
import { describeValue, type GuestSlot, parseGuestSlot } from "@qemu-kvm/core";
import { DEFAULT_HOST } from "../spec/defaults.js";
import type { DevicePlacement, Entries } from "../spec/resolved-spec.js";
import { QEMU_ID } from "../syntax/ids.js";
import { isIpAddress, isIpv4 } from "../syntax/ip-address.js";
import { MAX_UNIX_SOCKET_PATH_BYTES, utf8Length } from "../syntax/unix-socket.js";
import { field, type Issues, isPlainObject, type Reader } from "./reader.js";

/** Names QEMU takes as they are: machine types, CPU models, image formats, NIC models. */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const PROPERTY_KEY = /^[A-Za-z][A-Za-z0-9_.-]*$/;

/** Validation state shared by the section readers. */
export interface Context {
  readonly issues: Issues;
  readonly allowUnassigned: boolean;
  readonly runtimeDir?: string;
  readonly runtimeDirValid: boolean;
  /** Every unix socket and file QEMU will use, for the duplicate check. */
  readonly files: { path: string; field: string }[];
  /** Every numeric TCP/UDP listener, for the clash check. */
  readonly listeners: { protocol: string; host: string; port: number; field: string }[];
  /** Every explicit guest PCI placement, for the clash check. */
  readonly slots: { key: string; field: string }[];
}

export function absolutePath(reader: Reader, key: string, required = false): string | undefined {
  return reader.string(key, {
    required,
    test: (value) => value.startsWith("/"),
    expected: "an absolute path",
  });
}

export function anyPath(reader: Reader, key: string, required = true): string | undefined {
  return reader.string(key, { required, expected: "a path" });
}

/**
 * A runtime file or socket: the given absolute path, or `runtimeDir/name`. Records
 * it for the duplicate check and checks unix socket length.
 */
export function runtimePath(
  context: Context,
  reader: Reader,
  key: string,
  defaultName: string,
  socket: boolean,
): string | undefined {
  const path = reader.at(key);
  let value: string | undefined;
  if (reader.has(key)) {
    value = absolutePath(reader, key);
    if (value === undefined) return undefined;
  } else if (context.runtimeDir !== undefined) {
    if (!context.runtimeDirValid) return undefined;
    value = `${context.runtimeDir}/${defaultName}`;
  } else {
    if (!context.allowUnassigned)
      context.issues.add(
        path,
        "has no path, and there is no runtimeDir to derive one from",
        "an absolute path, or spec.runtimeDir",
      );
    return undefined;
  }
  if (socket) {
    const bytes = utf8Length(value);
    if (bytes > MAX_UNIX_SOCKET_PATH_BYTES)
      context.issues.add(
        path,
        `unix socket path ${describeValue(value)} is ${bytes} bytes long${reader.has(key) ? "" : " (derived from runtimeDir)"}`,
        `at most ${MAX_UNIX_SOCKET_PATH_BYTES} bytes`,
      );
  }
  context.files.push({ path: value, field: path });
  return value;
}

export function hostAddress(reader: Reader, key: string, ipv4Only = false): string {
  return (
    reader.string(key, {
      test: ipv4Only ? isIpv4 : isIpAddress,
      expected: ipv4Only
        ? "an IPv4 address such as 127.0.0.1"
        : "an IP address such as 127.0.0.1 or ::1",
    }) ?? DEFAULT_HOST
  );
}

export function properties(reader: Reader, key: string, reserved: readonly string[]): Entries {
  const value = reader.raw(key);
  if (value === undefined) return [];
  const path = reader.at(key);
  if (!isPlainObject(value)) {
    reader.issues.add(path, `is ${describeValue(value)}`, "an object of property values");
    return [];
  }
  const entries: [string, string][] = [];
  for (const [name, raw] of Object.entries(value)) {
    const at = field(path, name);
    if (!PROPERTY_KEY.test(name)) {
      reader.issues.add(
        at,
        "is not a property name",
        "letters, digits, '_', '.', '-', starting with a letter",
      );
      continue;
    }
    if (reserved.includes(name)) {
      reader.issues.add(
        at,
        "is set by the builder from its own field",
        `none of ${reserved.join(", ")}`,
      );
      continue;
    }
    if (typeof raw === "boolean") entries.push([name, raw ? "on" : "off"]);
    else if (typeof raw === "number" && Number.isFinite(raw)) entries.push([name, String(raw)]);
    else if (typeof raw === "string" && !raw.includes("\0")) entries.push([name, raw]);
    else reader.issues.add(at, `is ${describeValue(raw)}`, "a string, number or boolean");
  }
  return entries;
}

export function placement(
  context: Context,
  reader: Reader,
  slotKey: string,
  busKey?: string,
): DevicePlacement {
  let slot: GuestSlot | undefined;
  if (reader.has(slotKey)) {
    const text = reader.string(slotKey, {
      expected: "a guest slot such as 03, 0x3, 03.0 or 00:03.0",
    });
    if (text !== undefined) {
      slot = parseGuestSlot(text);
      if (!slot)
        context.issues.add(
          reader.at(slotKey),
          `${describeValue(text)} is not a guest PCI slot`,
          "SS[.F] in hex (slot ≤ 1f, function ≤ 7), or 0000:00:SS.F on the root bus",
        );
    }
  }
  const bus =
    busKey === undefined
      ? undefined
      : reader.string(busKey, {
          test: (value) => QEMU_ID.test(value),
          expected: "a bus id such as pci.0",
        });
  if (slot) {
    const onRoot = bus === undefined || bus === "pci.0" || bus === "pcie.0";
    if (onRoot && slot.slot === 0)
      context.issues.add(
        reader.at(slotKey),
        "slot 00 of the root bus is the host bridge",
        "a slot from 01 to 1f",
      );
    context.slots.push({
      key: `${onRoot ? "root" : bus}:${slot.slot}.${slot.function}`,
      field: reader.at(slotKey),
    });
  }
  return { ...(slot ? { slot } : {}), ...(bus !== undefined ? { bus } : {}) };
}
