import { once } from "node:events";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { makeTempDir, type QemuFixture, startQemu } from "@qemu-kvm/testkit";
import { afterEach } from "vitest";
import { connectHmp, connectQmp, type HmpClient, type QmpClient } from "../../src/index.js";

const cleanups: (() => Promise<void> | void)[] = [];

/** Everything launched in a test is torn down after it, even when it failed. */
afterEach(async () => {
  const errors: unknown[] = [];
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length) throw new AggregateError(errors, "cleanup failed");
});

export async function connectSocket(path: string): Promise<Socket> {
  const socket = createConnection(path);
  cleanups.push(() => {
    socket.destroy();
  });
  await once(socket, "connect");
  return socket;
}

export interface Launched {
  qemu: QemuFixture;
  qmp: QmpClient;
  /** `-monitor unix:` socket path, when `hmp: true`. */
  hmpPath: string;
  connectHmp(): Promise<HmpClient>;
}

/**
 * Real QEMU (TCG, paused with -S, no guest) with a QMP client connected, and
 * optionally a legacy HMP socket.
 */
export async function launch(
  args: readonly string[] = [],
  options: { hmp?: boolean } = {},
): Promise<Launched> {
  // The HMP socket path must be known before QEMU starts: a private directory of its own.
  let hmpPath = "";
  const extra: string[] = [];
  if (options.hmp) {
    const dir = await makeTempDir("qk-hmp-");
    cleanups.push(() => dir.remove());
    hmpPath = join(dir.path, "hmp.sock");
    extra.push("-monitor", `unix:${hmpPath},server=on,wait=off`);
  }
  const qemu = await startQemu({ args: [...extra, ...args] });
  cleanups.push(() => qemu.stop());
  const qmp = await connectQmp(await connectSocket(qemu.qmpPath));
  cleanups.push(() => qmp.destroy());
  return {
    qemu,
    qmp,
    hmpPath,
    async connectHmp() {
      const hmp = await connectHmp(await connectSocket(hmpPath));
      cleanups.push(() => hmp.destroy());
      return hmp;
    },
  };
}

/** Registers extra cleanup for the current test. */
export function onCleanup(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup);
}

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
