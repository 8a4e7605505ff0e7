import { describe, expect, test } from "vitest";
import { type DeviceSpec, QmpMigrationError, type TimeoutError } from "../../src/index.js";
import { connected } from "../helpers/fake-qmp-peer.js";

describe("helpers", () => {
  test("quit resolves when QEMU closes, whether or not the reply came first", async () => {
    for (const replyFirst of [true, false]) {
      const { client, peer } = await connected();
      const quitting = client.quit();
      const { id, execute } = await peer.nextRequest();
      expect(execute).toBe("quit");
      if (replyFirst) peer.reply(id);
      peer.hangUp();
      await expect(quitting).resolves.toBeUndefined();
      expect((await client.closed).by).toBe("peer");
    }
  });

  test("quit rejects when the client, not QEMU, closed the connection", async () => {
    const { client, peer } = await connected();
    const quitting = client.quit();
    await peer.nextRequest();
    client.destroy(new Error("shutting down the test"));
    await expect(quitting).rejects.toMatchObject({ code: "ERR_QMP_CLOSED" });
    await expect(client.quit()).rejects.toMatchObject({ code: "ERR_QMP_CLOSED" });
  });

  test("deviceDel waits for the device's own DEVICE_DELETED, not its child's", async () => {
    const { client, peer } = await connected();
    const deleting = client.deviceDel("stick");
    const { id, execute, arguments: args } = await peer.nextRequest();
    expect([execute, args]).toEqual(["device_del", { id: "stick" }]);
    peer.reply(id);
    let settled = false;
    deleting.then(() => {
      settled = true;
    });
    peer.event("DEVICE_DELETED", { path: "/machine/peripheral/stick/stick.0/legacy[0]" });
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    peer.event("DEVICE_DELETED", { device: "stick", path: "/machine/peripheral/stick" });
    expect((await deleting).data.device).toBe("stick");
    client.destroy();
  });

  test("deviceDel rejects with the command's error and leaves no wait behind", async () => {
    const { client, peer } = await connected();
    const deleting = client.deviceDel("nope", { timeoutMs: 50 });
    const { id } = await peer.nextRequest();
    peer.sendMessage({ id, error: { class: "DeviceNotFound", desc: "Device 'nope' not found" } });
    await expect(deleting).rejects.toMatchObject({ errorClass: "DeviceNotFound" });
  });

  test("deviceDel times out with a hint when the guest never releases the device", async () => {
    const { client, peer } = await connected();
    const deleting = client.deviceDel("nic", { timeoutMs: 30 });
    peer.reply((await peer.nextRequest()).id);
    const error = (await deleting.catch((e: unknown) => e)) as TimeoutError;
    expect(error.code).toBe("ERR_TIMEOUT");
    expect(error.message).toMatch(/guest acknowledges/);
    client.destroy();
  });

  test("maps query-status, query-cpus-fast, query-pci and query-migrate", async () => {
    const { client, peer } = await connected();
    const status = client.queryStatus();
    peer.reply((await peer.nextRequest()).id, {
      status: "prelaunch",
      singlestep: false,
      running: false,
    });
    expect(await status).toEqual({ status: "prelaunch", running: false, singlestep: false });

    const vcpus = client.queryVcpus();
    peer.reply((await peer.nextRequest()).id, [
      {
        "thread-id": 8565,
        props: { "core-id": 0, "thread-id": 0, "socket-id": 0 },
        "qom-path": "/machine/unattached/device[0]",
        "cpu-index": 0,
        target: "x86_64",
      },
    ]);
    expect(await vcpus).toEqual([
      {
        index: 0,
        threadId: 8565,
        qomPath: "/machine/unattached/device[0]",
        target: "x86_64",
        props: { "core-id": 0, "thread-id": 0, "socket-id": 0 },
      },
    ]);

    const pci = client.queryPciDevices();
    peer.reply((await peer.nextRequest()).id, [
      {
        bus: 0,
        devices: [
          {
            bus: 0,
            slot: 16,
            function: 0,
            qdev_id: "rp1",
            class_info: { class: 1540, desc: "PCI bridge" },
            id: { vendor: 6966, device: 12 },
            pci_bridge: {
              bus: { number: 0, secondary: 1, subordinate: 1 },
              devices: [
                {
                  bus: 1,
                  slot: 0,
                  function: 0,
                  qdev_id: "nic1",
                  class_info: { class: 512, desc: "Ethernet controller" },
                  id: { vendor: 6900, device: 4161, "subsystem-vendor": 6900, subsystem: 4352 },
                },
              ],
            },
          },
          {
            bus: 0,
            slot: 31,
            function: 2,
            qdev_id: "",
            class_info: { class: 262, desc: "SATA controller" },
            id: { vendor: 32902, device: 10530 },
          },
        ],
      },
    ]);
    const devices = await pci;
    expect(devices.map((d) => [d.address, d.id, d.parentBridgeAddress])).toEqual([
      ["0000:00:10.0", "rp1", undefined],
      ["0000:01:00.0", "nic1", "0000:00:10.0"],
      ["0000:00:1f.2", undefined, undefined],
    ]);
    expect(devices[0]!.bridge).toEqual({ secondaryBus: 1, subordinateBus: 1 });
    expect(devices[1]).toMatchObject({ vendorId: 0x1af4, deviceId: 0x1041, classCode: 0x200 });

    const none = client.queryMigration();
    peer.reply((await peer.nextRequest()).id, {});
    expect(await none).toEqual({ status: "none", raw: {} });
    client.destroy();
  });

  test("waitForMigration follows MIGRATION events to completed, failed or cancelled", async () => {
    for (const final of ["completed", "failed", "cancelled"]) {
      const { client, peer } = await connected();
      const waiting = client.waitForMigration();
      peer.reply((await peer.nextRequest()).id, { status: "active" });
      const caps = await peer.nextRequest();
      expect(caps.execute).toBe("query-migrate-capabilities");
      peer.reply(caps.id, [{ capability: "events", state: true }]);
      peer.event("MIGRATION", { status: "active" });
      peer.event("MIGRATION", { status: final });
      const last = await peer.nextRequest();
      peer.reply(last.id, {
        status: final,
        "total-time": 20,
        ...(final === "failed" ? { "error-desc": "Connection refused" } : {}),
      });
      if (final === "completed") {
        await expect(waiting).resolves.toMatchObject({ status: "completed", totalTimeMs: 20 });
      } else {
        const error = await waiting.catch((e: unknown) => e);
        expect(error).toBeInstanceOf(QmpMigrationError);
        expect(error).toMatchObject({
          code: "ERR_QMP_MIGRATION",
          status: final,
          errorDescription: final === "failed" ? "Connection refused" : undefined,
        });
      }
      client.destroy();
    }
  });

  test("waitForMigration re-reads until QEMU has recorded the final times", async () => {
    const { client, peer } = await connected();
    const waiting = client.waitForMigration();
    peer.reply((await peer.nextRequest()).id, {
      status: "completed",
      "total-time": 0,
      downtime: 0,
    });
    peer.reply((await peer.nextRequest()).id, {
      status: "completed",
      "total-time": 0,
      downtime: 0,
    });
    peer.reply((await peer.nextRequest()).id, {
      status: "completed",
      "total-time": 11,
      downtime: 3,
    });
    await expect(waiting).resolves.toMatchObject({ totalTimeMs: 11, downtimeMs: 3 });
    client.destroy();
  });

  test("waitForMigration refuses to wait blind when MIGRATION events are off", async () => {
    const { client, peer } = await connected();
    const waiting = client.waitForMigration();
    peer.reply((await peer.nextRequest()).id, { status: "active" });
    peer.reply((await peer.nextRequest()).id, [{ capability: "events", state: false }]);
    await expect(waiting).rejects.toMatchObject({ code: "ERR_QMP_MIGRATION", status: "active" });
    client.destroy();
  });

  test("helpers follow the deadline rule: timeoutMs 0 sends nothing, negative is refused", async () => {
    const { client, peer } = await connected();
    const zero = { timeoutMs: 0 };
    for (const call of [
      () => client.queryStatus(zero),
      () => client.migrate("unix:/nowhere", zero),
      () => client.waitForMigration(zero),
      () => client.deviceDel("kbd", zero),
      () => client.quit(zero),
    ])
      await expect(call()).rejects.toMatchObject({ code: "ERR_TIMEOUT", timeoutMs: 0 });
    expect(peer.lines.length).toBe(1); // only qmp_capabilities
    for (const call of [
      () => client.queryStatus({ timeoutMs: -1 }),
      () => client.migrate("unix:/nowhere", { timeoutMs: -1 }),
      () => client.deviceDel("kbd", { timeoutMs: Number.NaN }),
      () => client.quit({ timeoutMs: -1 }),
    ])
      expect(call).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARGUMENT" }));
    client.destroy();
  });

  test("helpers refuse bad arguments with ERR_INVALID_ARGUMENT naming the field", async () => {
    const { client, peer } = await connected();
    const cases: [() => unknown, string][] = [
      [() => client.migrate(""), "uri"],
      [() => client.deviceDel(""), "id"],
      [() => client.deviceAdd({ driver: "usb-kbd" } as DeviceSpec), "device.id"],
      [() => client.deviceAdd({ id: "kbd" } as DeviceSpec), "device.driver"],
      [
        () => client.setMigrationCapabilities({ events: "on" as unknown as boolean }),
        "capabilities.events",
      ],
      [() => client.hmp(42 as unknown as string), "commandLine"],
    ];
    for (const [call, field] of cases)
      expect(call).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field }));
    expect(peer.lines.length).toBe(1);
    client.destroy();
  });
});
