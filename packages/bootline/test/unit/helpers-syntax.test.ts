import {
  escapeOptionValue,
  formatHostForward,
  formatOptionList,
  parseHostForward,
  splitOptionList,
} from "@qemu-kvm/bootline";
import {
  formatCpuList,
  formatGuestSlot,
  formatPciAddress,
  parseCpuList,
  parseGuestSlot,
  parsePciAddress,
} from "@qemu-kvm/core";
import { describe, expect, test } from "vitest";
import { invalidArgument } from "../helpers/spec.js";

describe("QEMU option lists", () => {
  test("escapes commas by doubling them, and nothing else", () => {
    expect(escapeOptionValue("a,b,,c")).toBe("a,,b,,,,c");
    expect(escapeOptionValue("a b'\"$(x)\n=")).toBe("a b'\"$(x)\n=");
  });

  test("formats entries with an implied first value", () => {
    expect(
      formatOptionList([
        [undefined, "socket"],
        ["path", "/a,b"],
        ["server", "on"],
      ]),
    ).toBe("socket,path=/a,,b,server=on");
  });

  test("refuses keys and implied values it cannot represent (programmer errors)", () => {
    invalidArgument(() => formatOptionList([["a,b", "x"]]), "entries[0][0]");
    invalidArgument(() => formatOptionList([["a=b", "x"]]), "entries[0][0]");
    invalidArgument(
      () =>
        formatOptionList([
          ["file", "x"],
          [undefined, "y"],
        ]),
      "entries[1][0]",
    );
    invalidArgument(() => formatOptionList([[undefined, "a=b"]]), "entries[0][1]");
    // A TypeError, as Node's own argument errors are.
    expect(() => formatOptionList([["a,b", "x"]])).toThrow(TypeError);
  });

  test("splits like QEMU: doubled commas, implied key, flags and no-flags", () => {
    expect(splitOptionList("unix:/tmp/a,,b.sock,server,nowait", "path")).toEqual([
      { key: "path", value: "unix:/tmp/a,b.sock" },
      { key: "server", value: "on" },
      { key: "wait", value: "off" },
    ]);
    expect(splitOptionList("file=a=b,,c,format=raw,")).toEqual([
      { key: "file", value: "a=b,c" },
      { key: "format", value: "raw" },
    ]);
    expect(splitOptionList("")).toEqual([]);
  });

  test("round-trips any value through format and split", () => {
    const values = ["", ",", ",,", "a,", ",a", "=", "a=b,c=d", "x\ny", "trailing,"];
    for (const value of values) {
      const text = formatOptionList([
        [undefined, "driver"],
        ["v", value],
        ["w", "z"],
      ]);
      expect(splitOptionList(text, "type")).toEqual([
        { key: "type", value: "driver" },
        { key: "v", value },
        { key: "w", value: "z" },
      ]);
    }
  });
});

describe("PCI addresses (core's, as bootline reads passthrough and guest slots with them)", () => {
  test("parses [DDDD:]BB:SS.F in hex and formats it normalized", () => {
    expect(parsePciAddress("81:00.1")).toEqual({ domain: 0, bus: 0x81, slot: 0, function: 1 });
    expect(parsePciAddress("0001:AF:1f.7")).toEqual({
      domain: 1,
      bus: 0xaf,
      slot: 0x1f,
      function: 7,
    });
    expect(formatPciAddress({ domain: 0, bus: 0, slot: 16, function: 0 })).toBe("0000:00:10.0");
    for (const bad of ["81:00", "81:20.0", "81:00.8", "g1:00.0", "00000:81:00.0", "81-00.0", ""])
      expect(parsePciAddress(bad), bad).toBeUndefined();
  });

  test("info pci's decimal 'device 16' is slot 0x10", () => {
    // HMP prints "Bus  0, device  16, function 0": decimal numbers.
    expect(
      formatPciAddress({ domain: 0, bus: 0, slot: Number.parseInt("16", 10), function: 0 }),
    ).toBe("0000:00:10.0");
  });

  test("parses guest slots as QEMU's addr= does, plus root-bus BDF forms", () => {
    expect(parseGuestSlot("3")).toEqual({ slot: 3, function: 0 });
    expect(parseGuestSlot("0x1f")).toEqual({ slot: 31, function: 0 });
    expect(parseGuestSlot("03.1")).toEqual({ slot: 3, function: 1 });
    expect(parseGuestSlot("00:10.0")).toEqual({ slot: 16, function: 0 });
    expect(parseGuestSlot("0000:00:10.2")).toEqual({ slot: 16, function: 2 });
    for (const bad of ["20", "0x20", "03.8", "01:03.0", "0001:00:03.0", "x", ""])
      expect(parseGuestSlot(bad), bad).toBeUndefined();
    expect(formatGuestSlot({ slot: 3, function: 0 })).toBe("03.0");
  });
});

describe("CPU lists (core's, as bootline reads DTS configs and taskset with them)", () => {
  test("reads DTS's space lists, commas and ranges; sorts and dedupes", () => {
    expect(parseCpuList("3 4 5 6")).toEqual([3, 4, 5, 6]);
    expect(parseCpuList(" 5 6 7 8 9 10 11 12 ")).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    expect(parseCpuList("0-3,8-11,2")).toEqual([0, 1, 2, 3, 8, 9, 10, 11]);
    for (const bad of ["a", "3-1", "1,,x", "-1", "8192"])
      expect(parseCpuList(bad), bad).toBeUndefined();
    // Core reads a blank list as no CPUs (Linux writes an empty `isolated` so): where
    // bootline needs at least one CPU, it refuses an empty list itself (see the tests
    // of cpu.hostCpus, pinnedCommand, DTS cpupin and taskset prefixes).
    expect(parseCpuList("")).toEqual([]);
  });

  test("formats compact ranges for taskset -c", () => {
    expect(formatCpuList([3, 4, 5, 6])).toBe("3-6");
    expect(formatCpuList([9, 1, 3, 2, 2])).toBe("1-3,9");
    expect(formatCpuList([0])).toBe("0");
  });
});

describe("host forwards", () => {
  const spec = { emptyHostAddress: "127.0.0.1", emptyHostPort: "auto" } as const;

  test("parses every part of [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport", () => {
    expect(parseHostForward("udp:10.0.0.1:6001-10.0.2.15:53", spec)).toEqual({
      protocol: "udp",
      hostAddress: "10.0.0.1",
      hostPort: 6001,
      guestAddress: "10.0.2.15",
      guestPort: 53,
    });
    expect(parseHostForward("::6001-:22", spec)).toEqual({
      protocol: "tcp",
      hostAddress: "127.0.0.1",
      hostPort: 6001,
      guestPort: 22,
    });
    expect(parseHostForward("tcp::-:22", spec)).toMatchObject({ hostPort: "auto" });
    expect(parseHostForward("::-:", { ...spec, emptyGuestPort: 22 })).toMatchObject({
      hostPort: "auto",
      guestPort: 22,
    });
    expect(
      formatHostForward({
        protocol: "tcp",
        hostAddress: "127.0.0.1",
        hostPort: 6001,
        guestPort: 22,
      }),
    ).toBe("tcp:127.0.0.1:6001-:22");
  });

  test("names what is wrong", () => {
    expect(parseHostForward("tcp:6001-22", spec)).toEqual({
      error: '"tcp:6001-22" is not a host forward',
    });
    expect(parseHostForward("sctp::1-:2", spec)).toHaveProperty("error");
    expect(parseHostForward("tcp:1.2.3:1-:2", spec)).toEqual({
      error: 'host address "1.2.3" is not an IPv4 address',
    });
    expect(parseHostForward("tcp::0-:2", spec)).toEqual({ error: "host port 0 is out of range" });
    expect(parseHostForward("tcp::1-:", spec)).toEqual({ error: "the guest port is missing" });
    expect(parseHostForward("tcp::-:22", { emptyHostAddress: "0.0.0.0" })).toEqual({
      error: "the host port is missing",
    });
  });
});
