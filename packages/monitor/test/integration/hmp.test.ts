import { describe, expect } from "vitest";
import {
  type HmpPciDevice,
  type PciDevice,
  parseInfoCpus,
  parseInfoMigrate,
  parseInfoPci,
  parseInfoStatus,
} from "../../src/index.js";
import { afterFirmwarePciSetup, test } from "../helpers/launch.js";

const BRIDGES = [
  ...["-M", "q35", "-netdev", "user,id=n0"],
  ...["-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,addr=0x10"],
  ...["-device", "virtio-net-pci,id=nic1,bus=rp1,netdev=n0"],
  ...["-device", "pcie-pci-bridge,id=br,bus=pcie.0,addr=0x11"],
  ...["-device", "e1000,id=old,bus=br,addr=3"],
];

const essentials = (device: PciDevice | HmpPciDevice) => ({
  address: device.address,
  id: device.id,
  vendorId: device.vendorId,
  deviceId: device.deviceId,
});

describe("HMP socket client against real QEMU", () => {
  test("reads the banner, and runs commands with the echo removed", async ({ launch }) => {
    const { qmp, connectHmp } = await launch([], { hmp: true });
    const hmp = await connectHmp();
    expect(hmp.banner).toMatch(/^QEMU \d+\.\d+\.\d+ monitor - type 'help' for more information$/);
    expect(hmp.version).toEqual(qmp.version.qemu);
    expect(await hmp.command("info status")).toBe("VM status: paused (prelaunch)\n");
    expect(await hmp.command("device_del nosuch")).toBe("Error: Device 'nosuch' not found\n");
    expect(await hmp.command("info nosuch")).toBe("unknown command: 'info nosuch'\n");
    // No output at all: only the prompt came back.
    expect(await hmp.command("stop")).toBe("");
  });

  test("queues commands and answers each with its own output", async ({ launch }) => {
    const { qmp, connectHmp } = await launch([], { hmp: true });
    const hmp = await connectHmp();
    await Promise.all(
      Array.from({ length: 20 }, (_, k) =>
        qmp.execute("object-add", {
          "qom-type": "authz-simple",
          id: `a${k}`,
          identity: `user-${k}`,
        }),
      ),
    );
    const outputs = await Promise.all(
      Array.from({ length: 20 }, (_, k) => hmp.command(`qom-get /objects/a${k} identity`)),
    );
    expect(outputs).toEqual(Array.from({ length: 20 }, (_, k) => `"user-${k}"\n`));
  });

  test("drives the VM: device_add over HMP is seen over QMP; quit ends QEMU", async ({
    launch,
  }) => {
    const { qmp, qemu, connectHmp } = await launch(["-M", "q35", "-device", "qemu-xhci,id=xhci"], {
      hmp: true,
    });
    const hmp = await connectHmp();
    expect(await hmp.command("device_add usb-kbd,id=kbd")).toBe("");
    const ids = await qmp.execute("qom-list", { path: "/machine/peripheral" });
    expect(ids.map((item) => item.name)).toContain("kbd");
    await hmp.quit();
    expect(await qemu.exited).toEqual({ code: 0, signal: null });
    expect((await hmp.closed).by).toBe("peer");
    expect((await qmp.closed).by).toBe("peer");
  });
});

describe("HMP parsers against real QEMU output", () => {
  test("info status agrees with query-status as the VM runs and stops", async ({ launch }) => {
    const { qmp, connectHmp } = await launch([], { hmp: true });
    const hmp = await connectHmp();
    for (const step of [undefined, "cont", "stop"] as const) {
      if (step) await qmp.execute(step);
      const expected = await qmp.queryStatus();
      expect(parseInfoStatus(await hmp.command("info status"))).toEqual(expected);
      expect(parseInfoStatus(await qmp.hmp("info status"))).toEqual(expected);
    }
  });

  test("info cpus gives the thread ids of query-cpus-fast", async ({ launch }) => {
    const { qmp, connectHmp } = await launch(["-smp", "4"], { hmp: true });
    const hmp = await connectHmp();
    const expected = (await qmp.queryVcpus()).map((cpu) => [cpu.index, cpu.threadId]);
    const text = await hmp.command("info cpus");
    expect(text).toMatch(/^\* CPU #0: thread_id=\d+\n/);
    expect(parseInfoCpus(text).map((cpu) => [cpu.index, cpu.threadId])).toEqual(expected);
    expect(
      parseInfoCpus(await qmp.hmp("info cpus")).map((cpu) => [cpu.index, cpu.threadId]),
    ).toEqual(expected);
  });

  test("info pci (decimal slots) agrees with query-pci, bridges included", async ({ launch }) => {
    const { qmp, connectHmp } = await launch(BRIDGES, { hmp: true });
    const hmp = await connectHmp();
    const devices = await afterFirmwarePciSetup(qmp);
    const text = await hmp.command("info pci");
    // Slot 16 (0x10) is printed in decimal.
    expect(text).toContain("Bus  0, device  16, function 0:");
    const parsed = parseInfoPci(text);
    expect(parsed.map(essentials)).toEqual(devices.map(essentials));
    expect(parseInfoPci(await qmp.hmp("info pci")).map(essentials)).toEqual(
      devices.map(essentials),
    );
    const rootPort = parsed.find((device) => device.id === "rp1")!;
    expect(rootPort).toMatchObject({ address: "0000:00:10.0", secondaryBus: 1, subordinateBus: 1 });
    // BARs were assigned by the firmware.
    expect(
      parsed.find((device) => device.id === "old")!.bars.some((bar) => bar.address !== undefined),
    ).toBe(true);
  });

  test("info pci before the guest ran: unassigned BARs, no devices behind bridges", async ({
    launch,
  }) => {
    const { qmp, connectHmp } = await launch(BRIDGES, { hmp: true });
    const hmp = await connectHmp();
    const parsed = parseInfoPci(await hmp.command("info pci"));
    expect(parsed.map(essentials)).toEqual((await qmp.queryPciDevices()).map(essentials));
    expect(parsed.find((device) => device.id === "nic1")).toBeUndefined();
    expect(parsed.flatMap((device) => device.bars).every((bar) => bar.address === undefined)).toBe(
      true,
    );
  });

  test("info migrate before any migration", async ({ launch }) => {
    const { qmp, connectHmp } = await launch([], { hmp: true });
    const hmp = await connectHmp();
    const info = parseInfoMigrate(await hmp.command("info migrate"));
    expect(info.status).toBe("none");
    expect(info.globals["store-global-state"]).toBe("on");
    expect((await qmp.queryMigration()).status).toBe("none");
  });
});
