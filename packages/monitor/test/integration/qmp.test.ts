import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { QEMU } from "@qemu-kvm/testkit";
import { describe, expect } from "vitest";
import {
  QmpCommandError,
  type QmpEvent,
  QmpEventOverflowError,
  QmpProtocolError,
} from "../../src/index.js";
import { afterFirmwarePciSetup, test } from "../helpers/launch.js";

const USB = [
  "-M",
  "q35",
  "-device",
  "qemu-xhci,id=xhci",
  "-blockdev",
  "driver=null-co,node-name=null0",
];

/**
 * Raw `query-status` replies: QEMU 10.0 (the `integration-qemu-10.0` project, see
 * vitest.shared.ts) no longer sends the deprecated `singlestep` member; 7.2 does.
 * (`queryStatus()` gives `singlestep: false` on both.)
 */
const rawSinglestep = process.env.QEMU_KVM_TEST_QEMU === "10.0" ? {} : { singlestep: false };

describe("QMP against real QEMU", () => {
  test("reads the greeting and negotiates; version matches query-version and the binary", async ({
    launch,
  }) => {
    const { qmp } = await launch();
    const version = await qmp.execute("query-version");
    expect(qmp.version).toEqual(version);
    const printed = execFileSync(QEMU, ["--version"], { encoding: "utf8" });
    const { major, minor, micro } = qmp.version.qemu;
    expect(printed).toContain(`version ${major}.${minor}.${micro}`);
    expect(qmp.capabilities).toContain("oob");
    // Negotiated: commands other than qmp_capabilities work.
    expect(await qmp.queryStatus()).toEqual({
      status: "prelaunch",
      running: false,
      singlestep: false,
    });
  });

  test("pipelines 1,000 commands and matches every reply to its command", async ({ launch }) => {
    const { qmp } = await launch(["-name", "pipelined-vm"]);
    // Distinct values to read back: 100 objects with distinct identities.
    await Promise.all(
      Array.from({ length: 100 }, (_, k) =>
        qmp.execute("object-add", {
          "qom-type": "authz-simple",
          id: `a${k}`,
          identity: `user-${k}`,
        }),
      ),
    );
    const expected: unknown[] = [];
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 1000; i++) {
      switch (i % 3) {
        case 0:
          calls.push(qmp.execute("query-status"));
          expected.push({ status: "prelaunch", ...rawSinglestep, running: false });
          break;
        case 1:
          calls.push(qmp.execute("query-name"));
          expected.push({ name: "pipelined-vm" });
          break;
        default: {
          const k = i % 100;
          calls.push(qmp.execute("qom-get", { path: `/objects/a${k}`, property: "identity" }));
          expected.push(`user-${k}`);
        }
      }
    }
    expect(await Promise.all(calls)).toEqual(expected);
  });

  test("reports QMP error classes", async ({ launch }) => {
    const { qmp } = await launch();
    const error = async (promise: Promise<unknown>) =>
      (await promise.catch((e: unknown) => e)) as QmpCommandError;
    const notFound = await error(qmp.executeUnchecked("no-such-command"));
    expect(notFound).toBeInstanceOf(QmpCommandError);
    expect(notFound).toMatchObject({
      code: "ERR_QMP_COMMAND",
      command: "no-such-command",
      errorClass: "CommandNotFound",
    });
    expect(await error(qmp.execute("device_del", { id: "nope" }))).toMatchObject({
      errorClass: "DeviceNotFound",
    });
    const generic = await error(qmp.execute("qom-get", { path: "/machine", property: "nosuch" }));
    expect(generic.errorClass).toBe("GenericError");
    expect(generic.description).toContain("nosuch");
    // The connection is still fine.
    expect((await qmp.queryStatus()).status).toBe("prelaunch");
  });

  test("delivers STOP/RESUME to two subscribers, one of them slow", async ({ launch }) => {
    const { qmp } = await launch();
    const fast = qmp.events(["STOP", "RESUME"]);
    const slow = qmp.events(["STOP", "RESUME"]);
    const fastSeen: string[] = [];
    const fastDone = (async () => {
      for await (const event of fast) {
        fastSeen.push(event.event);
        if (fastSeen.length === 6) break;
      }
    })();
    for (let round = 0; round < 3; round++) {
      await qmp.execute("cont");
      await qmp.execute("stop");
    }
    await fastDone;
    expect(fastSeen).toEqual(["RESUME", "STOP", "RESUME", "STOP", "RESUME", "STOP"]);
    // The slow one starts reading only now: nothing was lost, order kept.
    const slowSeen: QmpEvent[] = [];
    for await (const event of slow) {
      slowSeen.push(event);
      if (slowSeen.length === 6) break;
    }
    expect(slowSeen.map((event) => event.event)).toEqual(fastSeen);
    expect(slowSeen[0]!.timestamp.seconds).toBeGreaterThan(0);
  });

  test("ends a subscriber that falls behind its buffer with ERR_QMP_EVENT_OVERFLOW; the other gets everything", async ({
    launch,
  }) => {
    const { qmp } = await launch();
    const all: string[] = [];
    const off = qmp.on(["STOP", "RESUME"], (event) => all.push(event.event));
    const slow = qmp.events(["STOP", "RESUME"], { bufferSize: 2 });
    for (let round = 0; round < 3; round++) {
      await qmp.execute("cont");
      await qmp.execute("stop");
    }
    off();
    expect(all).toEqual(["RESUME", "STOP", "RESUME", "STOP", "RESUME", "STOP"]);
    expect((await slow.next()).value?.event).toBe("RESUME");
    expect((await slow.next()).value?.event).toBe("STOP");
    const error = await slow.next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QmpEventOverflowError);
    expect(error).toMatchObject({ lostEvent: "RESUME", bufferSize: 2 });
  });

  test("delivers DEVICE_DELETED of a hot-unplugged USB device (child first, then the device) to two subscribers", async ({
    launch,
  }) => {
    const { qmp } = await launch(USB);
    await qmp.deviceAdd({ driver: "usb-storage", id: "stick", drive: "null0" });
    const first = qmp.events("DEVICE_DELETED");
    const second = qmp.events("DEVICE_DELETED");
    const deleted = await qmp.deviceDel("stick");
    expect(deleted.data).toEqual({ device: "stick", path: "/machine/peripheral/stick" });
    for (const stream of [first, second]) {
      const child = (await stream.next()).value!;
      const parent = (await stream.next()).value!;
      // The device's internal SCSI disk goes first, without an id.
      expect(child.data.device).toBeUndefined();
      expect(child.data.path).toMatch(/^\/machine\/peripheral\/stick\//);
      expect(parent.data).toEqual({ device: "stick", path: "/machine/peripheral/stick" });
    }
    const ids = await qmp.execute("qom-list", { path: "/machine/peripheral" });
    expect(ids.map((item) => item.name)).not.toContain("stick");
  });

  test("catches an event with a wait armed before the command", async ({ launch }) => {
    const { qmp } = await launch(USB);
    await qmp.deviceAdd({ driver: "usb-kbd", id: "kbd" });
    const deleted = qmp.waitForEvent("DEVICE_DELETED", (event) => event.data.device === "kbd", {
      timeoutMs: 60_000,
    });
    await qmp.execute("device_del", { id: "kbd" });
    expect((await deleted).data.path).toBe("/machine/peripheral/kbd");
    // Armed before `cont`, resolved by its RESUME.
    const resumed = qmp.waitForEvent("RESUME");
    await qmp.execute("cont");
    expect((await resumed).event).toBe("RESUME");
    await qmp.execute("stop");
  });

  test("deviceDel of a PCIe NIC the guest never saw times out with a hint (ACPI/PCIe unplug needs the guest)", async ({
    launch,
  }) => {
    const { qmp } = await launch([
      "-M",
      "q35",
      "-device",
      "pcie-root-port,id=rp1,bus=pcie.0,chassis=1",
    ]);
    await qmp.deviceAdd({ driver: "virtio-net-pci", id: "nic1", bus: "rp1" });
    const error = await qmp.deviceDel("nic1", { timeoutMs: 1_500 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_TIMEOUT", operation: "device_del nic1" });
    expect((error as Error).message).toMatch(/guest/);
  });

  test("reads a large reply (query-qmp-schema)", async ({ launch }) => {
    const { qmp } = await launch();
    const schema = await qmp.execute("query-qmp-schema");
    expect(JSON.stringify(schema).length).toBeGreaterThan(100_000);
    expect(schema.some((entry) => entry["meta-type"] === "command")).toBe(true);
    expect((await qmp.queryStatus()).status).toBe("prelaunch");
  });

  test("a reply longer than maxLineBytes destroys the connection with ERR_QMP_PROTOCOL", async ({
    launch,
  }) => {
    const { qmp, qemu } = await launch([], { qmp: { maxLineBytes: 64 * 1024 } });
    const error = await qmp.execute("query-qmp-schema").catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "ERR_QMP_CLOSED",
      cause: {
        code: "ERR_QMP_PROTOCOL",
        cause: { code: "ERR_LINE_TOO_LONG", maxLineBytes: 64 * 1024 },
      },
    });
    expect((error as Error).cause).toBeInstanceOf(QmpProtocolError);
    expect((await qmp.closed).by).toBe("error");
    // QEMU itself is fine: it only lost its client.
    expect(qemu.child.exitCode).toBeNull();
  });

  test("rejects every call in flight, and waits, promptly when QEMU is killed with SIGKILL", async ({
    launch,
  }) => {
    const { qmp, qemu } = await launch();
    const calls = Array.from({ length: 500 }, (_, i) =>
      i % 2 ? qmp.execute("query-qmp-schema") : qmp.execute("query-status"),
    );
    const wait = qmp.waitForEvent("SHUTDOWN");
    const stream = qmp.events();
    const killedAt = Date.now();
    process.kill(qemu.pid, "SIGKILL");
    const results = await Promise.allSettled([...calls, wait]);
    const settledAfterMs = Date.now() - killedAt;
    const rejected = results.filter((result) => result.status === "rejected");
    expect(rejected.length).toBeGreaterThan(0);
    for (const result of rejected)
      expect((result as PromiseRejectedResult).reason).toMatchObject({ code: "ERR_QMP_CLOSED" });
    // Generous: "at once" on a loaded 2-core machine.
    expect(settledAfterMs).toBeLessThan(5_000);
    expect((await qmp.closed).by).toBe("peer");
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    expect((await qemu.exited).signal).toBe("SIGKILL");
  });

  test("quit resolves once QEMU has exited; system_powerdown emits POWERDOWN", async ({
    launch,
  }) => {
    const { qmp, qemu } = await launch();
    const powerdown = qmp.waitForEvent("POWERDOWN");
    await qmp.systemPowerdown();
    await powerdown;
    // No guest handles ACPI: QEMU keeps running.
    expect((await qmp.queryStatus()).status).toBe("prelaunch");
    const shutdown = qmp.waitForEvent("SHUTDOWN");
    await qmp.quit();
    expect((await shutdown).data).toMatchObject({ guest: false, reason: "host-qmp-quit" });
    expect(qmp.isClosed).toBe(true);
    expect(await qemu.exited).toEqual({ code: 0, signal: null });
  });

  test("queryVcpus gives the real host thread ids of the vCPUs", async ({ launch }) => {
    const { qmp, qemu } = await launch(["-smp", "3"]);
    const vcpus = await qmp.queryVcpus();
    expect(vcpus.map((cpu) => cpu.index)).toEqual([0, 1, 2]);
    for (const cpu of vcpus) {
      expect(existsSync(`/proc/${qemu.pid}/task/${cpu.threadId}`)).toBe(true);
      expect(cpu.target).toBe("x86_64");
    }
    expect(new Set(vcpus.map((cpu) => cpu.threadId)).size).toBe(3);
  });

  test("queryPciDevices flattens bridges once the firmware has numbered their buses", async ({
    launch,
  }) => {
    const { qmp } = await launch([
      ...["-M", "q35", "-netdev", "user,id=n0"],
      ...["-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,addr=0x10"],
      ...["-device", "virtio-net-pci,id=nic1,bus=rp1,netdev=n0"],
      ...["-device", "pcie-pci-bridge,id=br,bus=pcie.0,addr=0x11"],
      ...["-device", "e1000,id=old,bus=br,addr=3"],
    ]);
    // Before the guest ran: bridges have no bus numbers, devices behind them are not listed.
    const before = await qmp.queryPciDevices();
    expect(before.find((d) => d.id === "rp1")).toMatchObject({
      address: "0000:00:10.0",
      bridge: { secondaryBus: 0 },
    });
    expect(before.find((d) => d.id === "nic1")).toBeUndefined();
    const devices = await afterFirmwarePciSetup(qmp);
    expect(devices.find((d) => d.id === "nic1")).toMatchObject({
      address: "0000:01:00.0",
      parentBridgeAddress: "0000:00:10.0",
      vendorId: 0x1af4,
      classDescription: "Ethernet controller",
    });
    expect(devices.find((d) => d.id === "old")).toMatchObject({
      address: "0000:02:03.0",
      deviceId: 0x100e,
      parentBridgeAddress: "0000:00:11.0",
    });
  });
});
