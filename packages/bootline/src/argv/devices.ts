/** argv of storage, the kernel and devices: `-drive`, `-kernel`, passthrough, crypto. */
import type { ResolvedCrypto, ResolvedSpec } from "../spec/resolved-spec.js";
import { ids } from "../syntax/ids.js";
import { type OptionEntry, writeOptionList } from "../syntax/option-list.js";
import { known, placementEntries } from "./options.js";

export function drivesArgs(spec: ResolvedSpec): string[] {
  return spec.drives.flatMap((drive) => {
    const entries: OptionEntry[] = [["file", drive.path]];
    if (drive.format !== undefined) entries.push(["format", drive.format]);
    if (drive.interface !== undefined) entries.push(["if", drive.interface]);
    if (drive.index !== undefined) entries.push(["index", String(drive.index)]);
    if (drive.media !== undefined) entries.push(["media", drive.media]);
    if (drive.readOnly) entries.push(["readonly", "on"]);
    if (drive.snapshot) entries.push(["snapshot", "on"]);
    if (drive.cache !== undefined) entries.push(["cache", drive.cache]);
    entries.push(["id", drive.id]);
    return ["-drive", writeOptionList(entries)];
  });
}

export function pflashArgs(spec: ResolvedSpec): string[] {
  return spec.pflash.flatMap((flash) => [
    "-drive",
    writeOptionList([
      ["if", "pflash"],
      ["unit", String(flash.unit)],
      ["format", flash.format],
      ["file", flash.path],
      ...(flash.readOnly ? ([["readonly", "on"]] as const) : []),
      ["id", flash.id],
    ]),
  ]);
}

export function kernelArgs(spec: ResolvedSpec): string[] {
  const kernel = spec.kernel;
  if (!kernel) return [];
  // -kernel, -initrd and -append take their argument as is: no option-list escaping.
  return [
    "-kernel",
    kernel.path,
    ...(kernel.initrdPath !== undefined ? ["-initrd", kernel.initrdPath] : []),
    ...(kernel.commandLine !== undefined ? ["-append", kernel.commandLine] : []),
  ];
}

export function passthroughArgs(spec: ResolvedSpec): string[] {
  return spec.passthrough.flatMap((device) => [
    "-device",
    writeOptionList([
      [undefined, device.driver],
      ["host", device.host],
      ["id", device.id],
      ...placementEntries(device),
      ...device.deviceProperties,
    ]),
  ]);
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
  return spec.crypto.flatMap((crypto) => [
    ...cryptoBackendArgs(crypto),
    "-device",
    writeOptionList([
      [undefined, "virtio-crypto-pci"],
      ["id", crypto.deviceId],
      ["cryptodev", crypto.backendId],
      ...placementEntries(crypto),
    ]),
  ]);
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
