import { setImmediate as nextTurn } from "node:timers/promises";
import fc from "fast-check";
import { describe, expect } from "vitest";
import { AgentFraming } from "../../src/agent/framing.js";
import { connectGuestAgent, QemuKvmError } from "../../src/index.js";
import { test } from "../helpers/agent-setup.js";
import type { Request } from "../helpers/fake-agent.js";

/**
 * The guest agent's wire, fed random splits and garbage: the framing delivers
 * each line once, whatever the chunk boundaries, and the client settles every
 * call with its own reply or a coded error, never a crash or a hang.
 */

/** Small caps, so that over-long lines are cheap to make. */
const MAX_LINE_BYTES = 64;
const MAX_REPLY_BYTES = 4_096;
/** Bounded: a few seconds per property at most (CI runs them every time). */
const BOUNDS = { numRuns: 150, interruptAfterTimeLimit: 4_000, seed: 13 };
const CLIENT_BOUNDS = { numRuns: 40, interruptAfterTimeLimit: 6_000, seed: 13 };

/** What the agent sends, piece by piece: each piece ends a line, or is a 0xFF. */
type Piece =
  | { kind: "line"; bytes: Buffer } // some bytes (no LF, no 0xFF), then LF
  | { kind: "cut"; bytes: Buffer } // an unfinished line, then 0xFF
  | { kind: "delimiter" };

const noFraming = (bytes: Uint8Array) => Buffer.from(bytes.filter((b) => b !== 10 && b !== 0xff));

const lineBytes = fc.oneof(
  // A reply as qemu-ga writes it (non-ASCII included: a split may fall inside a character).
  fc
    .record({ id: fc.nat(), return: fc.string({ maxLength: 12, unit: "grapheme" }) })
    .map((reply) => Buffer.from(JSON.stringify(reply))),
  // Text that is not JSON, blank lines, CR LF endings.
  fc.string({ maxLength: 30 }).map((text) => Buffer.from(text.replace(/\n/g, ""))),
  fc.constantFrom(Buffer.from(""), Buffer.from("   "), Buffer.from('{"return": 1}\r')),
  // Binary junk (invalid UTF-8 too).
  fc.uint8Array({ maxLength: 40 }).map(noFraming),
  // Longer than the cap, by a little or a lot.
  fc
    .integer({ min: MAX_LINE_BYTES - 2, max: MAX_LINE_BYTES * 4 })
    .map((length) => Buffer.alloc(length, 0x7b)),
);

const piece: fc.Arbitrary<Piece> = fc.oneof(
  { weight: 4, arbitrary: lineBytes.map((bytes) => ({ kind: "line" as const, bytes })) },
  { weight: 1, arbitrary: lineBytes.map((bytes) => ({ kind: "cut" as const, bytes })) },
  { weight: 1, arbitrary: fc.constant({ kind: "delimiter" as const }) },
);

function encode(pieces: readonly Piece[]): Buffer {
  return Buffer.concat(
    pieces.map((item) => {
      if (item.kind === "delimiter") return Buffer.from([0xff]);
      return Buffer.concat([item.bytes, Buffer.from([item.kind === "line" ? 10 : 0xff])]);
    }),
  );
}

type Event = { line: string } | { overflow: string } | "delimiter";

/** What the framing must report for `pieces`, worked out piece by piece. */
function model(pieces: readonly Piece[]): Event[] {
  const events: Event[] = [];
  for (const item of pieces) {
    if (item.kind === "delimiter") {
      events.push("delimiter");
      continue;
    }
    const { bytes } = item;
    if (item.kind === "cut") {
      // Dropped at the 0xFF; reported only if it outgrew the cap (+1 for a CR) first.
      if (bytes.length > MAX_LINE_BYTES + 1) events.push({ overflow: "ERR_LINE_TOO_LONG" });
      events.push("delimiter");
      continue;
    }
    const content = bytes.at(-1) === 13 ? bytes.subarray(0, -1) : bytes;
    if (content.length > MAX_LINE_BYTES) events.push({ overflow: "ERR_LINE_TOO_LONG" });
    else if (content.toString("utf8").trim() !== "")
      events.push({ line: content.toString("utf8") });
  }
  return events;
}

function frame(chunks: readonly Buffer[]): Event[] {
  const events: Event[] = [];
  const framing = new AgentFraming(MAX_LINE_BYTES, {
    line: (text) => events.push({ line: text }),
    delimiter: () => events.push("delimiter"),
    overflow: (error) => events.push({ overflow: error.code }),
  });
  for (const chunk of chunks) framing.push(chunk);
  return events;
}

/** `bytes` cut at `cuts` (positions taken modulo its length). */
function split(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const positions = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const position of positions) {
    chunks.push(bytes.subarray(from, position));
    from = position;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

describe("guest agent framing (property)", () => {
  test("every line once, in order, whatever the chunk boundaries: over-long ones reported (coded), 0xFF drops the unfinished line", () => {
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (pieces, cuts) => {
          const bytes = encode(pieces);
          expect(frame(split(bytes, cuts))).toEqual(model(pieces));
        },
      ),
      BOUNDS,
    );
  });

  test("byte by byte: the same", () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const bytes = encode(pieces);
        const chunks = [...bytes].map((byte) => Buffer.from([byte]));
        expect(frame(chunks)).toEqual(model(pieces));
      }),
      BOUNDS,
    );
  });
});

/** What the fake agent sends before the real reply to one request. */
type Garbage =
  | { kind: "bytes"; bytes: Buffer } // anything: may leave an unfinished line
  | { kind: "stray"; offset: number } // a well-formed reply to another id
  | { kind: "huge"; length: number }; // a line longer than maxReplyBytes

const garbage: fc.Arbitrary<Garbage> = fc.oneof(
  piece.map((item) => ({ kind: "bytes" as const, bytes: encode([item]) })),
  fc.uint8Array({ maxLength: 24 }).map((bytes) => ({
    kind: "bytes" as const,
    bytes: Buffer.from(bytes),
  })),
  fc.nat({ max: 1_000 }).map((offset) => ({ kind: "stray" as const, offset })),
  fc
    .integer({ min: MAX_REPLY_BYTES + 1, max: MAX_REPLY_BYTES * 3 })
    .map((length) => ({ kind: "huge" as const, length })),
);

const exchange = fc.record({
  garbage: fc.array(garbage, { maxLength: 3 }),
  cuts: fc.array(fc.nat(), { maxLength: 6 }),
  value: fc.string({ maxLength: 16, unit: "grapheme" }),
});

function garbageBytes(item: Garbage, id: number): Buffer {
  if (item.kind === "bytes") return item.bytes;
  if (item.kind === "stray")
    return Buffer.from(`${JSON.stringify({ return: "stale", id: id + 1 + item.offset })}\n`);
  return Buffer.concat([Buffer.alloc(item.length, 0x61), Buffer.from("\n")]);
}

describe("guest agent client on a hostile wire (property)", () => {
  test("each call resolves with its own reply or rejects with a coded error; the client never crashes or hangs", async ({
    agents,
  }) => {
    await fc.assert(
      fc.asyncProperty(fc.array(exchange, { minLength: 1, maxLength: 3 }), async (exchanges) => {
        // A request the client sends again (lost, it thinks, after a sync) gets the same answer.
        const byId = new Map<number, (typeof exchanges)[number]>();
        const peer = agents.peer((request: Request, agent) => {
          if (request.execute !== "guest-test") return undefined;
          const id = request.id!;
          if (!byId.has(id)) byId.set(id, exchanges[byId.size]!);
          const { garbage: items, cuts, value } = byId.get(id)!;
          const reply = Buffer.from(`${JSON.stringify({ return: value, id: request.id })}\n`);
          const bytes = Buffer.concat([...items.map((item) => garbageBytes(item, id)), reply]);
          // In pieces, each in a later turn of the event loop.
          void (async () => {
            for (const chunk of split(bytes, cuts)) {
              await nextTurn();
              if (!agent.destroyed) agent.send(chunk);
            }
          })();
          return "silent";
        });
        const client = await connectGuestAgent(peer, {
          timeoutMs: 2_000,
          commandTimeoutMs: 500,
          maxReplyBytes: MAX_REPLY_BYTES,
          fileChunkBytes: 1_024,
        });
        try {
          for (const { value } of exchanges) {
            const settled = await client.execute("guest-test", undefined, { timeoutMs: 300 }).then(
              (result) => ({ result }),
              (error: unknown) => ({ error }),
            );
            if ("result" in settled) expect(settled.result).toBe(value);
            else expectCoded(settled.error);
          }
          // Still usable, or closed with a coded error: never stuck.
          await client.ping({ timeoutMs: 3_000 }).catch(expectCoded);
        } finally {
          client.destroy();
        }
      }),
      CLIENT_BOUNDS,
    );
  }, 30_000);
});

function expectCoded(error: unknown): void {
  expect(QemuKvmError.isInstance(error), String(error)).toBe(true);
  expect((error as QemuKvmError).code).toMatch(/^ERR_[A-Z_]+$/);
}
