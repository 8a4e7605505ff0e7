import { describe, expect, test } from "vitest";
import { TelnetCodec } from "../../src/index.js";

const IAC = 0xff;
const WILL = 0xfb;
const WONT = 0xfc;
const DO = 0xfd;
const DONT = 0xfe;
const SB = 0xfa;
const SE = 0xf0;

/** What QEMU 7.2's telnet server sends before any guest output. */
const QEMU_NEGOTIATION = Buffer.from([
  IAC,
  WILL,
  0x01,
  IAC,
  WILL,
  0x03,
  IAC,
  WILL,
  0x00,
  IAC,
  DO,
  0x00,
]);

/** Decodes `input` split at every position in `splits`, concatenating data and replies. */
function decodeInPieces(input: Buffer, pieces: number[]): { data: Buffer; reply: Buffer } {
  const codec = new TelnetCodec();
  const data: Buffer[] = [];
  const reply: Buffer[] = [];
  let offset = 0;
  for (const size of [...pieces, input.length]) {
    const piece = input.subarray(offset, Math.min(input.length, offset + size));
    offset += piece.length;
    const decoded = codec.decode(piece);
    data.push(decoded.data);
    reply.push(decoded.reply);
    if (offset >= input.length) break;
  }
  return { data: Buffer.concat(data), reply: Buffer.concat(reply) };
}

describe("TelnetCodec", () => {
  test("answers QEMU's opening negotiation: DO ECHO, DO SGA, DO BINARY, WILL BINARY", () => {
    const codec = new TelnetCodec();
    const { data, reply } = codec.decode(Buffer.concat([QEMU_NEGOTIATION, Buffer.from("login: ")]));
    expect(data.toString()).toBe("login: ");
    expect([...reply]).toEqual([IAC, DO, 0x01, IAC, DO, 0x03, IAC, DO, 0x00, IAC, WILL, 0x00]);
    expect(codec.binary).toBe(true);
  });

  test("strips sequences split across chunks at every possible point", () => {
    const input = Buffer.concat([
      Buffer.from("ab"),
      QEMU_NEGOTIATION,
      Buffer.from("c"),
      Buffer.from([IAC, IAC]), // an escaped 0xFF data byte
      Buffer.from("d"),
      Buffer.from([IAC, 0xf1]), // NOP
      Buffer.from([IAC, SB, 0x18, 0x01, IAC, IAC, 0x42, IAC, SE]), // subnegotiation, skipped whole
      Buffer.from("e"),
    ]);
    const expected = Buffer.concat([Buffer.from("abc"), Buffer.from([0xff]), Buffer.from("de")]);
    const whole = decodeInPieces(input, []);
    expect(whole.data).toEqual(expected);
    for (let size = 1; size <= 4; size++) {
      const pieces = Array.from({ length: input.length }, () => size);
      const split = decodeInPieces(input, pieces);
      expect(split.data).toEqual(expected);
      expect(split.reply).toEqual(whole.reply);
    }
    // Every single split point.
    for (let cut = 1; cut < input.length; cut++) {
      expect(decodeInPieces(input, [cut]).data).toEqual(expected);
    }
  });

  test("answers each option once (no negotiation loop) and refuses what it does not know", () => {
    const codec = new TelnetCodec();
    expect([...codec.decode(Buffer.from([IAC, WILL, 0x01])).reply]).toEqual([IAC, DO, 0x01]);
    // The same offer again: already on, no answer.
    expect([...codec.decode(Buffer.from([IAC, WILL, 0x01])).reply]).toEqual([]);
    // Terminal type (24), NAWS (31): refused once.
    expect([...codec.decode(Buffer.from([IAC, DO, 24, IAC, WILL, 31])).reply]).toEqual([
      IAC,
      WONT,
      24,
      IAC,
      DONT,
      31,
    ]);
    expect([...codec.decode(Buffer.from([IAC, DO, 24, IAC, WILL, 31])).reply]).toEqual([]);
    // The server turns echo off: acknowledged.
    expect([...codec.decode(Buffer.from([IAC, WONT, 0x01])).reply]).toEqual([IAC, DONT, 0x01]);
    // We agree to SGA on our side when asked; DONT then turns it off.
    expect([...codec.decode(Buffer.from([IAC, DO, 0x03])).reply]).toEqual([IAC, WILL, 0x03]);
    expect([...codec.decode(Buffer.from([IAC, DONT, 0x03])).reply]).toEqual([IAC, WONT, 0x03]);
  });

  test("doubles 0xFF in what is written and leaves other bytes alone", () => {
    const codec = new TelnetCodec();
    expect([...codec.encode(Buffer.from([0x41, 0xff, 0x42, 0xff, 0xff]))]).toEqual([
      0x41, 0xff, 0xff, 0x42, 0xff, 0xff, 0xff, 0xff,
    ]);
    expect(codec.encode(Buffer.from("root\n")).toString()).toBe("root\n");
    // Round trip through a decoder (what QEMU's input side does).
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
    expect(new TelnetCodec().decode(codec.encode(bytes)).data).toEqual(bytes);
  });
});
