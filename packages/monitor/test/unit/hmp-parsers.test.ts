import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import {
  HmpParseError,
  parseInfoCpus,
  parseInfoMigrate,
  parseInfoPci,
  parseInfoStatus,
} from "../../src/index.js";

// Captured from this machine's QEMU 7.2.22 (see the integration tests for live runs).
const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8");
const session = JSON.parse(fixture("hmp-socket-7.2-pc.json")) as {
  commands: string[];
  raw: string[];
};
const raw = (command: string) => session.raw[session.commands.indexOf(command)]!;
const migrate = JSON.parse(fixture("info-migrate-7.2.json")) as Record<string, string>;

describe("parseInfoStatus", () => {
  test("reads QEMU's forms", () => {
    expect(parseInfoStatus("VM status: paused (prelaunch)\r\n")).toEqual({
      running: false,
      status: "prelaunch",
      singlestep: false,
    });
    expect(parseInfoStatus("VM status: running\n")).toEqual({
      running: true,
      status: "running",
      singlestep: false,
    });
    expect(parseInfoStatus("VM status: paused\n").status).toBe("paused");
    expect(parseInfoStatus("VM status: paused (single step mode) (postmigrate)\n")).toEqual({
      running: false,
      status: "postmigrate",
      singlestep: true,
    });
  });

  test("reads a raw HMP socket capture (echo and escapes included)", () => {
    const text = raw("info status");
    // The raw bytes start with the echo: only the status line parses.
    const body = text.slice(text.indexOf("\r\n") + 2, text.lastIndexOf("(qemu) "));
    expect(parseInfoStatus(body).status).toBe("prelaunch");
  });

  test("throws HmpParseError on other text", () => {
    expect(() => parseInfoStatus("unknown command: 'info stat'\n")).toThrow(HmpParseError);
    expect(() => parseInfoStatus("")).toThrow(HmpParseError);
  });
});

describe("parseInfoCpus", () => {
  test("reads QEMU 7.2's `* CPU #0: thread_id=N`", () => {
    expect(parseInfoCpus("* CPU #0: thread_id=8431\r\n  CPU #1: thread_id=8432\r\n")).toEqual([
      { index: 0, current: true, threadId: 8431, halted: false },
      { index: 1, current: false, threadId: 8432, halted: false },
    ]);
  });

  test("reads the older form with pc= and (halted)", () => {
    expect(
      parseInfoCpus(
        "* CPU #0: pc=0xffffffff8102ee06 (halted) thread_id=1234\n  CPU #1: pc=0xffffffff8102ee06 thread_id=1235\n",
      ),
    ).toEqual([
      { index: 0, current: true, threadId: 1234, halted: true },
      { index: 1, current: false, threadId: 1235, halted: false },
    ]);
  });

  test("throws on text that lists no CPU", () => {
    expect(() => parseInfoCpus("unknown command: 'info cpu'\n")).toThrow(HmpParseError);
    expect(() => parseInfoCpus("\n")).toThrow(/no CPU listed/);
  });
});

describe("parseInfoPci", () => {
  test("reads slots as DECIMAL and formats addresses in hex", () => {
    const devices = parseInfoPci(fixture("info-pci-q35-bridges.txt"));
    expect(devices.map((d) => [d.address, d.id ?? null, d.className])).toEqual([
      ["0000:00:00.0", null, "Host bridge"],
      ["0000:00:10.0", "rp1", "PCI bridge"],
      ["0000:01:00.0", "nic1", "Ethernet controller"],
      ["0000:00:11.0", "br", "PCI bridge"],
      ["0000:02:03.0", "old", "Ethernet controller"],
      ["0000:00:1f.0", null, "ISA bridge"],
      ["0000:00:1f.2", null, "SATA controller"],
      ["0000:00:1f.3", null, "SMBus"],
    ]);
    const rootPort = devices[1]!;
    expect(rootPort).toMatchObject({
      slot: 16,
      vendorId: 0x1b36,
      deviceId: 0x000c,
      secondaryBus: 1,
      subordinateBus: 1,
      irq: 10,
      pin: "A",
    });
    const nic = devices[2]!;
    expect(nic).toMatchObject({
      bus: 1,
      slot: 0,
      vendorId: 0x1af4,
      deviceId: 0x1041,
      subsystemVendorId: 0x1af4,
      subsystemId: 0x1100,
    });
    expect(nic.bars).toEqual([
      {
        index: 1,
        type: "memory",
        bits: 32,
        prefetchable: false,
        address: 0xfe440000,
        last: 0xfe440fff,
      },
      {
        index: 4,
        type: "memory",
        bits: 64,
        prefetchable: true,
        address: 0xfea00000,
        last: 0xfea03fff,
      },
      {
        index: 6,
        type: "memory",
        bits: 32,
        prefetchable: false,
        address: undefined,
        last: undefined,
      },
    ]);
    expect(devices[4]!.bars[1]).toEqual({
      index: 1,
      type: "io",
      bits: undefined,
      prefetchable: false,
      address: 0xc000,
      last: 0xc03f,
    });
  });

  test("reads the raw HMP socket capture of -M pc", () => {
    const text = raw("info pci");
    const body = text.slice(text.indexOf("\r\n") + 2, text.lastIndexOf("(qemu) "));
    const devices = parseInfoPci(body);
    expect(devices.map((d) => d.address)).toEqual([
      "0000:00:00.0",
      "0000:00:01.0",
      "0000:00:01.1",
      "0000:00:01.3",
      "0000:00:02.0",
    ]);
    expect(devices[4]).toMatchObject({
      id: "net0",
      className: "Ethernet controller",
      vendorId: 0x8086,
      deviceId: 0x100e,
    });
    // Unassigned BARs (all ones) before the guest ran.
    expect(devices[4]!.bars.every((bar) => bar.address === undefined)).toBe(true);
  });

  test("reads later QEMU's `(not mapped)` BARs and a class without a name (decimal)", () => {
    const devices = parseInfoPci(
      '  Bus  0, device   5, function 0:\n    Class 0255: PCI device 1234:5678\n      BAR0: 32 bit memory (not mapped)\n      BAR1: I/O (not mapped)\n      id "x"\n',
    );
    expect(devices[0]).toMatchObject({ address: "0000:00:05.0", classCode: 255, id: "x" });
    expect(devices[0]!.bars.map((bar) => [bar.index, bar.type, bar.address])).toEqual([
      [0, "memory", undefined],
      [1, "io", undefined],
    ]);
  });

  test("throws on text that is not info pci", () => {
    expect(() => parseInfoPci("unknown command: 'info pcx'\n")).toThrow(HmpParseError);
    expect(() => parseInfoPci("  Bus  0, device   5, function 0:\n    garbage\n")).toThrow(/class/);
    expect(parseInfoPci("")).toEqual([]);
  });
});

describe("parseInfoMigrate", () => {
  test("reads globals only when no migration was started", () => {
    const info = parseInfoMigrate(migrate.none!);
    expect(info.status).toBe("none");
    expect(info.globals).toMatchObject({ "store-global-state": "on", "clear-bitmap-shift": "18" });
    expect(info.fields).toEqual({});
  });

  test("reads an active, a completed and a cancelled migration", () => {
    expect(parseInfoMigrate(migrate.active!)).toMatchObject({
      status: "active",
      totalTimeMs: 1001,
      expectedDowntimeMs: 300,
      remainingRamKiB: 65664,
      totalRamKiB: 66056,
      throughputMbps: 0.01,
    });
    const completed = parseInfoMigrate(migrate.completed!);
    expect(completed).toMatchObject({
      status: "completed",
      totalTimeMs: 20,
      downtimeMs: 3,
      setupTimeMs: 1,
      transferredRamKiB: 341,
      remainingRamKiB: 0,
      throughputMbps: 194.15,
    });
    expect(completed.fields["dirty sync count"]).toBe("2");
    expect(parseInfoMigrate(migrate.cancelled!)).toMatchObject({
      status: "cancelled",
      totalTimeMs: 0,
    });
  });

  test("reads a failure's description and blocked reasons", () => {
    const info = parseInfoMigrate(
      "globals:\nstore-global-state: on\nOutgoing migration blocked:\n  Migration is disabled when VirtFS export path '/x' is mounted in the guest\nMigration status: failed (Unable to write to socket: Broken pipe)\ntotal time: 0 ms\n",
    );
    expect(info.status).toBe("failed");
    expect(info.errorDescription).toBe("Unable to write to socket: Broken pipe");
    expect(info.blockedReasons).toEqual([
      "Migration is disabled when VirtFS export path '/x' is mounted in the guest",
    ]);
  });

  test("throws on text that is not info migrate", () => {
    expect(() => parseInfoMigrate("unknown command: 'info migrat'\n")).toThrow(HmpParseError);
  });
});
