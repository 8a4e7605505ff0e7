/** argv of storage, the kernel and devices: `-drive`, `-kernel`, passthrough, crypto. */
import type { ResolvedCrypto, ResolvedSpec } from "../spec/resolved-spec.js";
import { ids } from "../syntax/ids.js";
import { type OptionEntry, writeOptionList } from "../syntax/option-list.js";
import { known, placementEntries } from "./options.js";

// Plain loops and pushes, not flatMap and spreads: these run for every spec built.

/**
 * An image is named by `file.filename=`, never `file=`: QEMU reads `file=` with its
 * block protocol parser (`nbd:host:port`, `ssh://…`, `json:{…}` open network
 * connections or take any block option; `vm:1.img` is an unknown protocol), while
 * `file.filename=` is a file (or host device) whatever it holds.
 */
const IMAGE = "file.filename";

export function drivesArgs(spec: ResolvedSpec): string[] {
  const args: string[] = [];
  for (const drive of spec.drives) {
    const entries: OptionEntry[] = [[IMAGE, drive.path]];
    if (drive.format !== undefined) entries.push(["format", drive.format]);
    if (drive.interface !== undefined) entries.push(["if", drive.interface]);
    if (drive.index !== undefined) entries.push(["index", String(drive.index)]);
    if (drive.media !== undefined) entries.push(["media", drive.media]);
    if (drive.readOnly) entries.push(["readonly", "on"]);
    if (drive.snapshot) entries.push(["snapshot", "on"]);
    if (drive.cache !== undefined) entries.push(["cache", drive.cache]);
    entries.push(["id", drive.id]);
    args.push("-drive", writeOptionList(entries));
  }
  return args;
}

export function pflashArgs(spec: ResolvedSpec): string[] {
  const args: string[] = [];
  for (const flash of spec.pflash) {
    const entries: OptionEntry[] = [
      ["if", "pflash"],
      ["unit", String(flash.unit)],
      ["format", flash.format],
      [IMAGE, flash.path],
    ];
    if (flash.readOnly) entries.push(["readonly", "on"]);
    entries.push(["id", flash.id]);
    args.push("-drive", writeOptionList(entries));
  }
  return args;
}

export function kernelArgs(spec: ResolvedSpec): string[] {
  const kernel = spec.kernel;
  if (!kernel) return [];
  // -kernel, -initrd and -append take their argument as is: no option-list escaping.
  const args = ["-kernel", kernel.path];
  if (kernel.initrdPath !== undefined) args.push("-initrd", kernel.initrdPath);
  if (kernel.commandLine !== undefined) args.push("-append", kernel.commandLine);
  return args;
}

export function passthroughArgs(spec: ResolvedSpec): string[] {
  const args: string[] = [];
  for (const device of spec.passthrough) {
    const entries: OptionEntry[] = [
      [undefined, device.driver],
      ["host", device.host],
      ["id", device.id],
    ];
    for (const entry of placementEntries(device)) entries.push(entry);
    for (const entry of device.deviceProperties) entries.push(entry);
    args.push("-device", writeOptionList(entries));
  }
  return args;
}

function cryptoBackendArgs(crypto: ResolvedCrypto): string[] {
  if (crypto.backend === "builtin")
    return [
      "-object",
      writeOptionList([
        [undefined, "cryptodev-backend-builtin"],
        ["id", crypto.backendId],
      ]),
    ];
  return [
    "-chardev",
    writeOptionList([
      [undefined, "socket"],
      ["id", crypto.chardevId],
      ["path", known(crypto.socketPath, `crypto[${crypto.index}].socketPath`)],
    ]),
    "-object",
    writeOptionList([
      [undefined, "cryptodev-vhost-user"],
      ["id", crypto.backendId],
      ["chardev", crypto.chardevId],
    ]),
  ];
}

export function cryptoArgs(spec: ResolvedSpec): string[] {
  const args: string[] = [];
  for (const crypto of spec.crypto) {
    for (const arg of cryptoBackendArgs(crypto)) args.push(arg);
    const device: OptionEntry[] = [
      [undefined, "virtio-crypto-pci"],
      ["id", crypto.deviceId],
      ["cryptodev", crypto.backendId],
    ];
    for (const entry of placementEntries(crypto)) device.push(entry);
    args.push("-device", writeOptionList(device));
  }
  return args;
}

export function rngArgs(spec: ResolvedSpec): string[] {
  const rng = spec.rng;
  if (!rng) return [];
  const device: OptionEntry[] = [
    [undefined, "virtio-rng-pci"],
    ["rng", ids.rngBackend],
    ["id", ids.rngDevice],
  ];
  for (const entry of placementEntries(rng)) device.push(entry);
  return [
    "-object",
    writeOptionList([
      [undefined, "rng-random"],
      ["id", ids.rngBackend],
      ["filename", rng.source],
    ]),
    "-device",
    writeOptionList(device),
  ];
}
