import { describe, expect, test } from "vitest";
import {
  checkVmName,
  formatCpuList,
  formatGuestSlot,
  formatPciAddress,
  InvalidArgumentError,
  isPortKind,
  isVmName,
  linuxSignalName,
  MAX_CPU,
  normalizePciAddress,
  PORT_KINDS,
  parseCpuList,
  parseGuestSlot,
  parsePciAddress,
} from "../../src/index.js";

describe("CPU lists", () => {
  test.each([
    ["0-3,8", [0, 1, 2, 3, 8]],
    ["3 4 5 6", [3, 4, 5, 6]],
    ["  8,1 , 2-3\n", [1, 2, 3, 8]],
    ["5,5,4-5", [4, 5]],
    ["", []],
    ["  \n", []],
    [`${MAX_CPU}`, [MAX_CPU]],
  ])("%j reads as %j", (text, cpus) => {
    expect(parseCpuList(text)).toEqual(cpus);
  });

  test.each(["3-1", "a", "1-", "-1", "1.5", `${MAX_CPU + 1}`, "65535", "0-99999"])(
    "%j is not a CPU list",
    (text) => {
      expect(parseCpuList(text)).toBeUndefined();
    },
  );

  test("formats ranges compactly", () => {
    expect(formatCpuList([8, 0, 1, 2, 3, 3, 10])).toBe("0-3,8,10");
    expect(formatCpuList([])).toBe("");
    expect(parseCpuList(formatCpuList([0, 2, 3, 4, 9]))).toEqual([0, 2, 3, 4, 9]);
  });
});

describe("PCI addresses", () => {
  test.each([
    ["0000:81:00.1", { domain: 0, bus: 0x81, slot: 0, function: 1 }],
    ["81:00.1", { domain: 0, bus: 0x81, slot: 0, function: 1 }],
    ["81:0.1", { domain: 0, bus: 0x81, slot: 0, function: 1 }],
    ["1:0:1f.7", { domain: 1, bus: 0, slot: 0x1f, function: 7 }],
    ["0000:AF:1E.0", { domain: 0, bus: 0xaf, slot: 0x1e, function: 0 }],
  ])("host form %j", (text, address) => {
    expect(parsePciAddress(text)).toEqual(address);
  });

  test.each(["81:20.0", "81:00.8", "81-00.1", "00000:81:00.1", "81:00", " 81:00.1"])(
    "%j is not a host PCI address",
    (text) => {
      expect(parsePciAddress(text)).toBeUndefined();
      expect(normalizePciAddress(text)).toBeUndefined();
    },
  );

  test("one canonical form: lower case, full width", () => {
    expect(formatPciAddress({ domain: 0, bus: 0x81, slot: 3, function: 1 })).toBe("0000:81:03.1");
    expect(normalizePciAddress("81:0.1")).toBe("0000:81:00.1");
    expect(normalizePciAddress("0000:AF:1E.0")).toBe("0000:af:1e.0");
  });

  test("guest slots as QEMU's addr= reads them", () => {
    expect(parseGuestSlot("3")).toEqual({ slot: 3, function: 0 });
    expect(parseGuestSlot("0x1f.7")).toEqual({ slot: 0x1f, function: 7 });
    expect(parseGuestSlot("00:04.0")).toEqual({ slot: 4, function: 0 });
    expect(parseGuestSlot("01:04.0")).toBeUndefined();
    expect(parseGuestSlot("20")).toBeUndefined();
    expect(formatGuestSlot({ slot: 0x1a, function: 2 })).toBe("1a.2");
  });
});

describe("VM names", () => {
  test.each(["vm0", "a", "VM-1.test_2", "x".repeat(63)])("%j is a VM name", (name) => {
    expect(isVmName(name)).toBe(true);
    expect(() => checkVmName(name)).not.toThrow();
  });

  test.each(["", "-vm", ".vm", "vm 0", "vm/0", "vm$(x)", "x".repeat(64), 5])(
    "%j is not",
    (name) => {
      expect(isVmName(name)).toBe(false);
      expect(() => checkVmName(name, "spec.name")).toThrow(InvalidArgumentError);
    },
  );
});

test("port kinds", () => {
  expect(PORT_KINDS).toEqual(["forward", "serial", "migration", "display"]);
  expect(isPortKind("migration")).toBe(true);
  expect(isPortKind("migrate")).toBe(false);
});

test("Linux signal names", () => {
  expect(linuxSignalName(9)).toBe("SIGKILL");
  expect(linuxSignalName(15)).toBe("SIGTERM");
  expect(linuxSignalName(0)).toBeUndefined();
  expect(linuxSignalName(34)).toBeUndefined();
  expect(linuxSignalName(1.5)).toBeUndefined();
});
