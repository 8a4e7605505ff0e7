/** Devices beyond the network: `passthrough` (vfio-pci, pci-assign) and `crypto`. */
import { describeValue, formatPciAddress, parsePciAddress } from "@qemu-kvm/core";
import { DEFAULT_RNG_SOURCE, runtimeFileNames } from "../spec/defaults.js";
import type { ResolvedCrypto, ResolvedSpec } from "../spec/resolved-spec.js";
import { ids } from "../syntax/ids.js";
import { absolutePath, type Context, placement, properties, runtimePath } from "./context.js";
import { field, isPlainObject, Reader } from "./reader.js";

export function readPassthrough(context: Context, reader: Reader): ResolvedSpec["passthrough"] {
  const result: ResolvedSpec["passthrough"][number][] = [];
  const hosts = new Map<string, string>();
  for (const [index, { value, path }] of reader.list("passthrough").entries()) {
    const device = Reader.open(context.issues, value, path, [
      "host",
      "driver",
      "pciAddress",
      "bus",
      "deviceProperties",
    ]);
    if (!device) continue;
    const hostText = device.string("host", {
      required: true,
      expected: "a host PCI address [DDDD:]BB:SS.F such as 0000:81:00.1",
    });
    const address = hostText === undefined ? undefined : parsePciAddress(hostText);
    if (hostText !== undefined && !address)
      context.issues.add(
        device.at("host"),
        `${describeValue(hostText)} is not a PCI address`,
        "[DDDD:]BB:SS.F in hex, such as 0000:81:00.1",
      );
    const driver = device.choice("driver", ["vfio-pci", "pci-assign"] as const) ?? "vfio-pci";
    const where = placement(context, device, "pciAddress", "bus");
    const deviceProperties = properties(device, "deviceProperties", [
      "id",
      "host",
      "addr",
      "bus",
      "driver",
    ]);
    if (!address) continue;
    const host = formatPciAddress(address);
    const other = hosts.get(host);
    if (other)
      context.issues.add(
        device.at("host"),
        `${host} is already passed through by ${other}`,
        "each host device once",
      );
    hosts.set(host, path);
    result.push({ id: ids.passthrough(index), driver, host, ...where, deviceProperties });
  }
  return result;
}

export function readCrypto(context: Context, reader: Reader): ResolvedCrypto[] {
  const result: ResolvedCrypto[] = [];
  for (const [index, { value, path }] of reader.list("crypto").entries()) {
    const backend = isPlainObject(value) ? value.backend : undefined;
    const names = {
      index,
      chardevId: ids.cryptoChardev(index),
      backendId: ids.cryptoBackend(index),
      deviceId: ids.cryptoDevice(index),
    };
    if (backend === "vhost-user") {
      const device = Reader.open(context.issues, value, path, [
        "backend",
        "socketPath",
        "pciAddress",
      ]);
      if (!device) continue;
      const socketPath = runtimePath(
        context,
        device,
        "socketPath",
        runtimeFileNames.crypto(index),
        true,
      );
      const where = placement(context, device, "pciAddress");
      result.push({
        ...names,
        ...where,
        backend,
        ...(socketPath !== undefined ? { socketPath } : {}),
      });
    } else if (backend === "builtin") {
      const device = Reader.open(context.issues, value, path, ["backend", "pciAddress"]);
      if (!device) continue;
      result.push({ ...names, ...placement(context, device, "pciAddress"), backend });
    } else if (isPlainObject(value)) {
      context.issues.add(
        field(path, "backend"),
        `is ${describeValue(backend)}`,
        '"vhost-user" or "builtin"',
      );
    } else {
      context.issues.add(path, `is ${describeValue(value)}`, "an object");
    }
  }
  return result;
}

/** `rng`: the host's entropy source (an absolute path, `/dev/urandom` by default) and the device's slot. */
export function readRng(context: Context, value: unknown): ResolvedSpec["rng"] {
  const reader = Reader.open(context.issues, value, "rng", ["source", "pciAddress"]);
  if (!reader) return undefined;
  const source = absolutePath(reader, "source") ?? DEFAULT_RNG_SOURCE;
  const { slot } = placement(context, reader, "pciAddress");
  return slot ? { source, slot } : { source };
}
