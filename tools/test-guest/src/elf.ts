/**
 * Just enough of ELF64 (little-endian) to build the guest without host tools:
 * the shared libraries a program needs (`DT_NEEDED`), its loader (`PT_INTERP`),
 * and a kernel module's `.modinfo` strings. Pure: works on a Buffer.
 */
import { GuestBuildError } from "./errors.js";

const SHT_DYNAMIC = 6;
const PT_INTERP = 3;
const DT_NULL = 0n;
const DT_NEEDED = 1n;

export interface ElfSection {
  name: string;
  type: number;
  offset: number;
  size: number;
  link: number;
}

export function isElf64(data: Buffer): boolean {
  return (
    data.length >= 64 &&
    data.readUInt32BE(0) === 0x7f454c46 &&
    data[4] === 2 && // ELFCLASS64
    data[5] === 1 // little-endian
  );
}

function assertElf64(data: Buffer, what: string): void {
  if (!isElf64(data)) throw new GuestBuildError(`${what} is not a little-endian ELF64 file`);
}

function toNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new GuestBuildError(`${what} out of range`);
  return Number(value);
}

function cString(data: Buffer, offset: number): string {
  const end = data.indexOf(0, offset);
  return data.toString("utf8", offset, end === -1 ? data.length : end);
}

export function elfSections(data: Buffer, what = "file"): ElfSection[] {
  assertElf64(data, what);
  const shoff = toNumber(data.readBigUInt64LE(0x28), `${what}: e_shoff`);
  const shentsize = data.readUInt16LE(0x3a);
  const shnum = data.readUInt16LE(0x3c);
  const shstrndx = data.readUInt16LE(0x3e);
  if (shoff === 0 || shnum === 0) return [];
  if (shoff + shnum * shentsize > data.length)
    throw new GuestBuildError(`${what}: section headers lie past the end of the file`);
  const raw = Array.from({ length: shnum }, (_, index) => {
    const base = shoff + index * shentsize;
    return {
      nameOffset: data.readUInt32LE(base),
      type: data.readUInt32LE(base + 4),
      offset: toNumber(data.readBigUInt64LE(base + 24), `${what}: sh_offset`),
      size: toNumber(data.readBigUInt64LE(base + 32), `${what}: sh_size`),
      link: data.readUInt32LE(base + 40),
    };
  });
  const names = raw[shstrndx];
  return raw.map(({ nameOffset, ...rest }) => ({
    ...rest,
    name: names ? cString(data, names.offset + nameOffset) : "",
  }));
}

/** The sonames a program or library needs, in `DT_NEEDED` order. */
export function neededLibraries(data: Buffer, what = "file"): string[] {
  const sections = elfSections(data, what);
  const dynamic = sections.find((section) => section.type === SHT_DYNAMIC);
  if (!dynamic) return []; // statically linked
  const strings = sections[dynamic.link];
  if (!strings) throw new GuestBuildError(`${what}: .dynamic links to no string table`);
  const needed: string[] = [];
  for (let offset = dynamic.offset; offset + 16 <= dynamic.offset + dynamic.size; offset += 16) {
    const tag = data.readBigInt64LE(offset);
    if (tag === DT_NULL) break;
    if (tag === DT_NEEDED) {
      const value = toNumber(data.readBigUInt64LE(offset + 8), `${what}: DT_NEEDED`);
      needed.push(cString(data, strings.offset + value));
    }
  }
  return needed;
}

/** The program interpreter (dynamic loader) path, or undefined for a static program. */
export function interpreter(data: Buffer, what = "file"): string | undefined {
  assertElf64(data, what);
  const phoff = toNumber(data.readBigUInt64LE(0x20), `${what}: e_phoff`);
  const phentsize = data.readUInt16LE(0x36);
  const phnum = data.readUInt16LE(0x38);
  for (let index = 0; index < phnum; index++) {
    const base = phoff + index * phentsize;
    if (base + 56 > data.length) break;
    if (data.readUInt32LE(base) === PT_INTERP) {
      const offset = toNumber(data.readBigUInt64LE(base + 8), `${what}: p_offset`);
      return cString(data, offset);
    }
  }
  return undefined;
}

/** A kernel module's `.modinfo` as key → values (`depends`, `name`, `alias`…). */
export function moduleInfo(data: Buffer, what = "module"): Map<string, string[]> {
  const section = elfSections(data, what).find((candidate) => candidate.name === ".modinfo");
  if (!section) throw new GuestBuildError(`${what} has no .modinfo section`);
  const info = new Map<string, string[]>();
  const text = data.toString("utf8", section.offset, section.offset + section.size);
  for (const entry of text.split("\0")) {
    const equals = entry.indexOf("=");
    if (equals <= 0) continue;
    const key = entry.slice(0, equals);
    const values = info.get(key) ?? [];
    values.push(entry.slice(equals + 1));
    info.set(key, values);
  }
  return info;
}
