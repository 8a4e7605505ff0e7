import { describe, expect, test } from "vitest";
import { formatCpuList, parseCpuList } from "../../src/cpu-list.js";
import { normalizePciAddress } from "../../src/pci-address.js";

describe("CPU lists", () => {
  test("parses numbers and ranges into sorted unique CPUs", () => {
    expect(parseCpuList("0-3,8,10-11\n")).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList("5,1,1-2")).toEqual([1, 2, 5]);
    expect(parseCpuList("")).toEqual([]);
    expect(parseCpuList("7")).toEqual([7]);
  });

  test("rejects what is not a CPU list", () => {
    for (const text of ["a", "3-1", "1,,2", "-1", "1-", "0-70000"])
      expect(parseCpuList(text)).toBeUndefined();
  });

  test("formats with ranges", () => {
    expect(formatCpuList([3, 0, 1, 2, 8, 10, 11])).toBe("0-3,8,10-11");
    expect(formatCpuList([])).toBe("");
  });
});

describe("PCI addresses", () => {
  test("normalizes to the full lower-case form", () => {
    expect(normalizePciAddress("81:00.1")).toBe("0000:81:00.1");
    expect(normalizePciAddress("0000:AF:1F.7")).toBe("0000:af:1f.7");
  });

  test("rejects what is not a PCI address", () => {
    for (const text of ["81:00", "0000:81:20.0", "81:00.8", "x", "0000:81:00.1 ", "00000:81:00.1"])
      expect(normalizePciAddress(text)).toBeUndefined();
  });
});
