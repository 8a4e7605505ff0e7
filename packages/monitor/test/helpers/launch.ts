import { once } from "node:events";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import type { QemuFixture } from "@qemu-kvm/testkit";
import { test as base } from "@qemu-kvm/testkit/fixtures";
import {
  type ConnectQmpOptions,
  connectHmp,
  connectQmp,
  type HmpClient,
  type QmpClient,
} from "../../src/index.js";

export interface Launched {
  qemu: QemuFixture;
  qmp: QmpClient;
  /** `-monitor unix:` socket path, when `hmp: true`. */
  hmpPath: string;
  connectHmp(): Promise<HmpClient>;
}

/**
 * Starts real QEMU (TCG, paused with -S, no guest) with a QMP client
 * connected, and optionally a legacy HMP socket.
 */
export type Launch = (
  args?: readonly string[],
  options?: { hmp?: boolean; qmp?: ConnectQmpOptions },
) => Promise<Launched>;

/**
 * testkit's `test`, plus `launch`: QEMU processes (testkit's `launchQemu`),
 * their sockets and clients, all torn down after the test even when it fails.
 * HMP sockets live in the test's private `tempDir`.
 */
export const test = base.extend(
  "launch",
  async ({ launchQemu, tempDir }, { onCleanup }): Promise<Launch> => {
    const sockets: Socket[] = [];
    const clients: { destroy(): void }[] = [];
    onCleanup(() => {
      for (const client of clients) client.destroy();
      for (const socket of sockets) socket.destroy();
    });
    const connectSocket = async (path: string) => {
      const socket = createConnection(path);
      sockets.push(socket);
      await once(socket, "connect");
      return socket;
    };
    let launched = 0;
    return async (args = [], options = {}) => {
      // The HMP socket path must be known before QEMU starts.
      const hmpPath = options.hmp ? join(tempDir.path, `hmp-${++launched}.sock`) : "";
      const extra = options.hmp ? ["-monitor", `unix:${hmpPath},server=on,wait=off`] : [];
      const qemu = await launchQemu({ args: [...extra, ...args] });
      const qmp = await connectQmp(await connectSocket(qemu.qmpPath), options.qmp);
      clients.push(qmp);
      return {
        qemu,
        qmp,
        hmpPath,
        async connectHmp() {
          const hmp = await connectHmp(await connectSocket(hmpPath));
          clients.push(hmp);
          return hmp;
        },
      };
    };
  },
);

interface RawPciDevice {
  regions?: { address: number }[];
  pci_bridge?: { bus?: { secondary?: number; subordinate?: number }; devices?: RawPciDevice[] };
}

/**
 * True once the firmware has finished with PCI: every bridge has its final bus
 * numbers (SeaBIOS passes through temporary ones, e.g. subordinate 255, while it
 * scans) and the devices behind it have BARs mapped (mapping comes after numbering).
 */
function pciSetUp(buses: { devices?: RawPciDevice[] }[]): boolean {
  let bridges = 0;
  const ok = (devices: RawPciDevice[] = []): boolean =>
    devices.every((device) => {
      const bridge = device.pci_bridge;
      if (!bridge) return true;
      bridges++;
      const { secondary = 0, subordinate = 0 } = bridge.bus ?? {};
      const behind = bridge.devices ?? [];
      return (
        secondary >= 1 &&
        secondary <= 254 &&
        subordinate >= secondary &&
        subordinate <= 254 &&
        behind.length > 0 &&
        behind.every((d) => d.pci_bridge || (d.regions ?? []).some((r) => r.address !== -1)) &&
        ok(behind)
      );
    });
  return buses.every((bus) => ok(bus.devices)) && bridges > 0;
}

/**
 * Runs the firmware (SeaBIOS, no disk) until it has set up PCI behind the
 * bridges, then pauses the vCPUs so that every later read agrees. Polls
 * query-pci: QEMU emits no event for what the guest writes to config space.
 */
export async function afterFirmwarePciSetup(qmp: QmpClient) {
  const deadline = Date.now() + 120_000;
  await qmp.execute("cont");
  for (;;) {
    if (pciSetUp(await qmp.execute("query-pci"))) {
      await qmp.execute("stop");
      // Paused now: check again, the guest may have moved between the two commands.
      if (pciSetUp(await qmp.execute("query-pci"))) return qmp.queryPciDevices();
      await qmp.execute("cont");
    }
    if (Date.now() > deadline)
      throw new Error(`PCI still not set up: ${JSON.stringify(await qmp.execute("query-pci"))}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
