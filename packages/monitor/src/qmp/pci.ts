import { formatPciAddress } from "@qemu-kvm/core";

/**
 * A PCI device as the guest sees it: where it is (bus, slot, function) and what
 * it is. The slot is a number: `info pci` prints it in DECIMAL (`device  16` is
 * slot 0x10), `address` formats it in hex like `lspci` does.
 */
export interface PciDevice {
  /** `DDDD:BB:SS.F` in hex, e.g. `0000:00:10.0` (QEMU always uses domain 0). */
  address: string;
  bus: number;
  slot: number;
  function: number;
  /** The qdev id (`-device …,id=X`), or undefined for devices without one. */
  id: string | undefined;
  vendorId: number;
  deviceId: number;
  subsystemVendorId: number | undefined;
  subsystemId: number | undefined;
  /** PCI class code, e.g. 0x0200 (Ethernet controller). */
  classCode: number | undefined;
  /** QEMU's name of the class, e.g. `Ethernet controller`. */
  classDescription: string | undefined;
  /** For a bridge: the bus numbers behind it (0 until the guest firmware numbers buses). */
  bridge: { secondaryBus: number; subordinateBus: number } | undefined;
  /** The `address` of the bridge this device sits behind, if any. */
  parentBridgeAddress: string | undefined;
}

/** A device of a `query-pci` reply (the fields read here). */
export interface QueryPciDevice {
  bus: number;
  slot: number;
  function: number;
  qdev_id?: string;
  class_info?: { class?: number; desc?: string };
  id?: { vendor?: number; device?: number; "subsystem-vendor"?: number; subsystem?: number };
  pci_bridge?: {
    bus?: { number?: number; secondary?: number; subordinate?: number };
    devices?: QueryPciDevice[];
  };
}

/**
 * Flattens `query-pci` (a list of root buses, bridges nested) into one list,
 * in QEMU's order, a bridge before the devices behind it.
 *
 * QEMU lists a bridge's devices only once the guest firmware has numbered the
 * bridge's bus: before the guest ran, devices behind bridges are absent.
 */
export function flattenQueryPci(
  reply: readonly { bus: number; devices?: readonly QueryPciDevice[] }[],
): PciDevice[] {
  const out: PciDevice[] = [];
  const walk = (devices: readonly QueryPciDevice[], parent: string | undefined) => {
    for (const device of devices) {
      const bridge = device.pci_bridge;
      out.push({
        address: formatPciAddress({
          domain: 0,
          bus: device.bus,
          slot: device.slot,
          function: device.function,
        }),
        bus: device.bus,
        slot: device.slot,
        function: device.function,
        id: device.qdev_id ? device.qdev_id : undefined,
        vendorId: device.id?.vendor ?? 0,
        deviceId: device.id?.device ?? 0,
        subsystemVendorId: device.id?.["subsystem-vendor"],
        subsystemId: device.id?.subsystem,
        classCode: device.class_info?.class,
        classDescription: device.class_info?.desc,
        bridge: bridge
          ? {
              secondaryBus: bridge.bus?.secondary ?? 0,
              subordinateBus: bridge.bus?.subordinate ?? 0,
            }
          : undefined,
        parentBridgeAddress: parent,
      });
      if (bridge?.devices?.length) walk(bridge.devices, out[out.length - 1]!.address);
    }
  };
  for (const root of reply) walk(root.devices ?? [], undefined);
  return out;
}
