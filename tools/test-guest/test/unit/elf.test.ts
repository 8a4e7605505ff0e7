import { readFile } from "node:fs/promises";
import { describe, expect, test } from "vitest";
import { elfSections, interpreter, isElf64, moduleInfo, neededLibraries } from "../../src/elf.js";

/** A minimal ELF64 with the named sections (and a section-name table), no program headers. */
function makeElf(
  sections: Array<{ name: string; type: number; data: Buffer; link?: number }>,
): Buffer {
  const names = Buffer.from(`\0${sections.map((s) => s.name).join("\0")}\0.shstrtab\0`, "latin1");
  const nameOffset = (index: number) =>
    1 + sections.slice(0, index).reduce((sum, s) => sum + s.name.length + 1, 0);
  const bodies = [...sections.map((s) => s.data), names];
  let offset = 64;
  const offsets = bodies.map((body) => {
    const at = offset;
    offset += body.length;
    return at;
  });
  const shoff = offset;
  const headers = Buffer.alloc(64 * (sections.length + 2));
  const all = [
    ...sections.map((s, i) => ({
      name: nameOffset(i),
      type: s.type,
      link: s.link ?? 0,
      size: s.data.length,
    })),
    { name: nameOffset(sections.length), type: 3, link: 0, size: names.length },
  ];
  all.forEach((section, i) => {
    const base = 64 * (i + 1); // index 0 is the null section
    headers.writeUInt32LE(section.name, base);
    headers.writeUInt32LE(section.type, base + 4);
    headers.writeBigUInt64LE(BigInt(offsets[i]!), base + 24);
    headers.writeBigUInt64LE(BigInt(section.size), base + 32);
    headers.writeUInt32LE(section.link, base + 40);
  });
  const header = Buffer.alloc(64);
  header.writeUInt32BE(0x7f454c46, 0);
  header[4] = 2;
  header[5] = 1;
  header.writeBigUInt64LE(BigInt(shoff), 0x28);
  header.writeUInt16LE(64, 0x3a);
  header.writeUInt16LE(sections.length + 2, 0x3c);
  header.writeUInt16LE(sections.length + 1, 0x3e);
  return Buffer.concat([header, ...bodies, headers]);
}

describe("ELF", () => {
  test("recognises ELF64 little-endian and nothing else", () => {
    expect(isElf64(makeElf([]))).toBe(true);
    expect(isElf64(Buffer.from("#!/bin/sh\n".padEnd(64)))).toBe(false);
    expect(() => elfSections(Buffer.from("not an elf".padEnd(64)), "x")).toThrow(
      /not a little-endian ELF64/,
    );
  });

  test("reads a module's .modinfo", () => {
    const modinfo = Buffer.from(
      "license=GPL\0depends=virtio_ring,virtio\0alias=a\0alias=b\0name=virtio_net\0",
      "latin1",
    );
    const info = moduleInfo(makeElf([{ name: ".modinfo", type: 1, data: modinfo }]));
    expect(info.get("depends")).toEqual(["virtio_ring,virtio"]);
    expect(info.get("alias")).toEqual(["a", "b"]);
    expect(info.get("name")).toEqual(["virtio_net"]);
    expect(() => moduleInfo(makeElf([]), "empty.ko")).toThrow(/empty.ko has no .modinfo/);
  });

  test("reads DT_NEEDED through .dynamic and its string table", () => {
    const strings = Buffer.from("\0libfoo.so.1\0libc.so.6\0", "latin1");
    const dynamic = Buffer.alloc(16 * 4);
    dynamic.writeBigInt64LE(1n, 0); // DT_NEEDED
    dynamic.writeBigUInt64LE(1n, 8);
    dynamic.writeBigInt64LE(14n, 16); // DT_SONAME: ignored
    dynamic.writeBigUInt64LE(1n, 24);
    dynamic.writeBigInt64LE(1n, 32); // DT_NEEDED
    dynamic.writeBigUInt64LE(13n, 40);
    // then DT_NULL
    const elf = makeElf([
      { name: ".dynstr", type: 3, data: strings },
      { name: ".dynamic", type: 6, data: dynamic, link: 1 },
    ]);
    expect(neededLibraries(elf)).toEqual(["libfoo.so.1", "libc.so.6"]);
    expect(neededLibraries(makeElf([]))).toEqual([]);
  });

  test("reads the loader and libraries of a real dynamic program (this Node binary)", async () => {
    const node = await readFile(process.execPath);
    expect(interpreter(node)).toMatch(/^\/lib(64)?\/ld-linux-x86-64\.so\.2$/);
    expect(neededLibraries(node)).toContain("libc.so.6");
  });
});
