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

/**
 * Runs the firmware (SeaBIOS, no disk) until it has numbered both bridges'
 * buses, then pauses. Polls query-pci: QEMU emits no event for bus numbering.
 */
export async function firmwareNumberedBuses(qmp: QmpClient) {
  await qmp.execute("cont");
  const deadline = Date.now() + 120_000;
  for (;;) {
    const devices = await qmp.queryPciDevices();
    const bridges = devices.filter((d) => d.bridge);
    if (bridges.length > 0 && bridges.every((d) => d.bridge!.secondaryBus > 0)) {
      await qmp.execute("stop");
      return qmp.queryPciDevices();
    }
    if (Date.now() > deadline)
      throw new Error(`bridges still unnumbered: ${JSON.stringify(bridges)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
