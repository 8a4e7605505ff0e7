/** The host/guest PCI map of passed-through devices, from QEMU itself (`query-pci`), not from text. */
import type { VmFacts } from "@qemu-kvm/bootline";
import type { CallOptions } from "@qemu-kvm/core";
import type { QmpClient } from "@qemu-kvm/monitor";

export interface PciMapping {
  /** The qdev id of the device (`pt0`…). */
  readonly id: string;
  /** The host device, `0000:81:02.1`. */
  readonly host: string;
  /** Where the guest sees it, `0000:00:10.0`; undefined if QEMU did not report it. */
  readonly guest: string | undefined;
}

export async function pciMapOf(
  qmp: QmpClient,
  facts: VmFacts,
  options: CallOptions,
): Promise<PciMapping[]> {
  if (facts.passthrough.length === 0) return [];
  const devices = await qmp.queryPciDevices(options);
  const byId = new Map(devices.filter((d) => d.id !== undefined).map((d) => [d.id!, d.address]));
  return facts.passthrough.map((device) => ({
    id: device.id ?? "",
    host: device.host,
    guest: device.id === undefined ? undefined : byId.get(device.id),
  }));
}
