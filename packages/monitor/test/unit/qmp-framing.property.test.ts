import { setImmediate as nextTurn } from "node:timers/promises";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { QemuKvmError } from "../../src/index.js";
import { connected } from "../helpers/fake-qmp-peer.js";

/**
 * QMP's line framing fed random splits and garbage: replies (in any order),
 * events, stray replies, blank lines, junk, error replies without an id and
 * over-long lines, cut at random chunk boundaries. Until the first line that
 * breaks the protocol, every reply settles its own call and every event is
 * delivered once, in order; from it on, the connection closes with
 * ERR_QMP_PROTOCOL and every call still pending rejects with ERR_QMP_CLOSED.
 * Never a crash, a hang or a call settled twice.
 */

const MAX_LINE_BYTES = 512;
/** Bounded: a few seconds per property at most (CI runs them every time). */
const BOUNDS = { numRuns: 60, interruptAfterTimeLimit: 5_000, seed: 13 };

type Noise =
  | { kind: "event"; name: string }
  | { kind: "stray"; offset: number; padToCap: boolean }
  | { kind: "blank"; text: string }
  | { kind: "junk"; bytes: Buffer }
  | { kind: "no-id" }
  | { kind: "huge"; length: number };

type Item = Noise | { kind: "reply"; call: number };

/** What the client makes of one line: skips it, or it breaks the protocol. */
function classify(line: string): "skip" | "fatal" | "message" {
  if (line.trim() === "") return "skip";
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return "fatal";
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return "fatal";
  const fields = parsed as Record<string, unknown>;
  if (typeof fields.event === "string" || "return" in fields || "error" in fields) return "message";
  return "skip"; // unknown messages, a second greeting: dropped
}

const junk = fc
  .oneof(
    fc.string({ maxLength: 40 }).map((text) => Buffer.from(text, "utf8")),
    fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
    fc.jsonValue({ maxDepth: 2 }).map((value) => Buffer.from(JSON.stringify(value) ?? "null")),
    fc
      .constantFrom('{"return": {}, "id": 1', "{}", '{"QMP": {}}', "[1,2]", "null")
      .map((text) => Buffer.from(text)),
  )
  .map((bytes) => Buffer.from(bytes.filter((byte) => byte !== 10 && byte !== 13)))
  .filter((bytes) => bytes.length <= MAX_LINE_BYTES && classify(bytes.toString()) !== "message");

const noise: fc.Arbitrary<Noise> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .constantFrom("STOP", "RESUME", "BLOCK_JOB_READY")
      .map((name) => ({ kind: "event" as const, name })),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("stray" as const),
      offset: fc.nat(1_000),
      padToCap: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom("", " ", "\t").map((text) => ({ kind: "blank" as const, text })),
  },
  { weight: 1, arbitrary: junk.map((bytes) => ({ kind: "junk" as const, bytes })) },
  { weight: 1, arbitrary: fc.constant({ kind: "no-id" as const }) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: MAX_LINE_BYTES + 1, max: MAX_LINE_BYTES * 3 })
      .map((length) => ({ kind: "huge" as const, length })),
  },
);

const scenario = fc.record({
  values: fc.array(fc.string({ maxLength: 12, unit: "grapheme" }), { minLength: 1, maxLength: 4 }),
  noise: fc.array(noise, { maxLength: 10 }),
  positions: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
  cuts: fc.array(fc.nat(), { maxLength: 30 }),
});

/** The noise with each call's reply put in at its position. */
function arrange(
  noiseItems: readonly Noise[],
  calls: number,
  positions: readonly number[],
): Item[] {
  const items: Item[] = [...noiseItems];
  for (let call = 0; call < calls; call++)
    items.splice(positions[call]! % (items.length + 1), 0, { kind: "reply", call });
  return items;
}

interface Wire {
  ids: readonly number[];
  values: readonly string[];
  strayBase: number;
}

function lineOf(item: Item, index: number, wire: Wire): Buffer {
  switch (item.kind) {
    case "reply":
      return Buffer.from(
        JSON.stringify({ return: wire.values[item.call], id: wire.ids[item.call] }),
      );
    case "event":
      return Buffer.from(
        JSON.stringify({
          event: item.name,
          data: { n: index },
          timestamp: { seconds: 1, microseconds: 0 },
        }),
      );
    case "stray": {
      const line = JSON.stringify({ return: "", id: wire.strayBase + item.offset });
      if (!item.padToCap) return Buffer.from(line);
      // Exactly at the cap: still a line, and dropped as a reply to nobody.
      const padded = `${line.slice(0, -1)}, "pad": "${"p".repeat(MAX_LINE_BYTES - line.length - 11)}"}`;
      expect(Buffer.byteLength(padded)).toBe(MAX_LINE_BYTES);
      return Buffer.from(padded);
    }
    case "blank":
      return Buffer.from(item.text);
    case "junk":
      return item.bytes;
    case "no-id":
      return Buffer.from('{"error": {"class": "GenericError", "desc": "JSON parse error"}}');
    case "huge":
      return Buffer.alloc(item.length, 0x61);
  }
}

function fatal(item: Item, line: Buffer): boolean {
  if (item.kind === "huge" || item.kind === "no-id") return true;
  if (item.kind === "junk") return classify(line.toString("utf8")) === "fatal";
  return false;
}

function split(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const positions = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const position of positions) {
    chunks.push(bytes.subarray(from, position));
    from = position;
  }
  chunks.push(bytes.subarray(from));
  return chunks.filter((chunk) => chunk.length > 0);
}

function expectCoded(error: unknown, code: string): void {
  expect(QemuKvmError.isInstance(error), String(error)).toBe(true);
  expect((error as QemuKvmError).code).toBe(code);
}

describe("QMP framing (property)", () => {
  test("random splits and garbage: each reply settles its own call once, events in order, the first broken line closes with a coded error", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ values, noise: noiseItems, positions, cuts }) => {
        const { client, peer } = await connected({ maxLineBytes: MAX_LINE_BYTES });
        try {
          const events = client.events();
          const settled: Array<{ value: unknown } | { error: unknown }> = [];
          const calls = values.map((_, call) =>
            client.executeUnchecked(`x-test-${call}`).then(
              (value) => {
                settled[call] = { value };
              },
              (error: unknown) => {
                settled[call] = { error };
              },
            ),
          );
          const requests = await Promise.all(values.map(() => peer.nextRequest()));
          const ids = values.map(
            (_, call) => requests.find((r) => r.execute === `x-test-${call}`)!.id,
          );
          const wire = { ids, values, strayBase: Math.max(...ids) + 1 };
          const items = arrange(noiseItems, values.length, positions);
          const lines = items.map((item, index) => lineOf(item, index, wire));
          const broken = items.findIndex((item, index) => fatal(item, lines[index]!));
          const end = broken === -1 ? items.length : broken;
          const bytes = Buffer.concat(lines.flatMap((line) => [line, Buffer.from("\r\n")]));
          for (const chunk of split(bytes, cuts)) {
            peer.send(chunk);
            if (chunk.length % 3 === 0) await nextTurn();
          }
          await Promise.all(calls);

          items.forEach((item, index) => {
            if (item.kind !== "reply") return;
            const outcome = settled[item.call]!;
            if (index < end) expect(outcome).toEqual({ value: values[item.call] });
            else {
              expect(outcome).toHaveProperty("error");
              const { error } = outcome as { error: unknown };
              expectCoded(error, "ERR_QMP_CLOSED");
              expectCoded((error as Error).cause, "ERR_QMP_PROTOCOL");
            }
          });
          const expected = items
            .slice(0, end)
            .map((item, index) =>
              item.kind === "event" ? { event: item.name, data: { n: index } } : undefined,
            )
            .filter((event) => event !== undefined);
          const seen: unknown[] = [];
          for (let count = 0; count < expected.length; count++) {
            const next = await events.next();
            if (next.done) break;
            seen.push(next.value);
          }
          expect(seen).toMatchObject(expected);
          if (broken === -1) expect(client.isClosed).toBe(false);
          else expectCoded((await client.closed).error, "ERR_QMP_PROTOCOL");
        } finally {
          client.destroy();
        }
      }),
      BOUNDS,
    );
  }, 30_000);
});
