/**
 * The state file reader against anything a file can hold: `parsePoolState`
 * gives a state (that `checkPoolState` finds sound) or a `PoolStateError`
 * naming the file — never another error, never a hang. Bounded: each property
 * stops after a few seconds; a failure prints the counterexample and its seed.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { checkPoolState, PoolStateError, parsePoolState } from "../../src/index.js";
import type {
  LeaseRecord,
  OwnerRecord,
  PciLeaseRecord,
  PoolState,
} from "../../src/records/records.js";
import { serializePoolState } from "../../src/records/serialize.js";

const PATH = "/run/qemu-kvm/pool/state.jsonl";
// A fixed seed: the same cases on every run (a failure is reproducible, never flaky).
const LIMITS = { numRuns: 400, interruptAfterTimeLimit: 3000, seed: 20261202 };
/** One parse of at most a few MB must never take long, however hostile the text. */
const MAX_PARSE_MS = 2000;

// Small domains, so that random states often hold a resource twice.
const ownerName = fc.constantFrom("vm0", "vm1", "vm-2", "a.b_c");
const since = fc.constantFrom("2025-01-01T00:00:00.000Z", "");
const PFS = ["0000:81:00.0", "0000:82:00.0"];
const VFS: Record<string, string[]> = {
  "0000:81:00.0": ["0000:81:02.0", "0000:81:02.1"],
  "0000:82:00.0": ["0000:82:02.0"],
};

const owner: fc.Arbitrary<OwnerRecord> = fc.record({
  owner: ownerName,
  holder: fc.record({
    pid: fc.integer({ min: 1, max: 4_194_304 }),
    startTime: fc.bigInt({ min: 0n, max: 10n ** 20n - 1n }).map(String),
    bootId: fc.oneof(fc.uuid(), fc.constant("-")),
    kind: fc.constantFrom("client" as const, "process" as const),
  }),
  client: fc.record({
    id: fc.string({ maxLength: 40 }),
    machine: fc.string({ maxLength: 20 }),
    pid: fc.nat({ max: 4_194_304 }),
  }),
  since,
});

function lease(owners: readonly string[]): fc.Arbitrary<LeaseRecord> {
  const who = fc.constantFrom(...owners);
  const port = fc.record({
    lease: fc.constant("port" as const),
    owner: who,
    kind: fc.constantFrom("forward", "serial", "migration", "display", "x-y"),
    port: fc.integer({ min: 5900, max: 5905 }),
    since,
  });
  const cpu = fc.record({
    lease: fc.constant("cpu" as const),
    owner: who,
    cpu: fc.nat({ max: 3 }),
    shared: fc.boolean(),
    since,
  });
  const pf = fc.constantFrom(...PFS);
  const pci = fc.oneof(
    fc.record({
      lease: fc.constant("pci" as const),
      owner: who,
      address: pf,
      function: fc.constant("pf" as const),
      since,
    }),
    pf.chain((parent) =>
      fc.record({
        lease: fc.constant("pci" as const),
        owner: who,
        address: fc.constantFrom(...VFS[parent]!),
        function: fc.constant("vf" as const),
        pf: fc.constant(parent),
        since,
      }),
    ),
  );
  return fc.oneof(port, cpu, pci as fc.Arbitrary<PciLeaseRecord>);
}

/** A state whose owners have unique names and whose leases follow their owner: sound or not. */
const state: fc.Arbitrary<PoolState> = fc
  .uniqueArray(owner, { maxLength: 4, selector: (record) => record.owner })
  .chain((owners) =>
    fc.record({
      generation: fc.nat(),
      updatedAt: fc.option(since, { nil: undefined }),
      owners: fc.constant(owners),
      leases:
        owners.length === 0
          ? fc.constant([])
          : fc.array(lease(owners.map((record) => record.owner)), { maxLength: 8 }).map((leases) =>
              // The file lists each owner's leases after it: sort them so.
              owners.flatMap((record) => leases.filter((entry) => entry.owner === record.owner)),
            ),
    }),
  );

/** One line made hostile. */
const garbageLine = fc.oneof(
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value) ?? ""),
  fc.constantFrom("{", "}", "[]", "null", '{"end":-1}', '{"end":1e400}', '{"__proto__":{"end":0}}'),
  // Huge lines: a long string value, deep nesting, a long run of one character.
  fc
    .integer({ min: 10_000, max: 300_000 })
    .map((n) => `{"lease":"cpu","since":"${"x".repeat(n)}"}`),
  fc.integer({ min: 1_000, max: 5_000 }).map((n) => `${"[".repeat(n)}${"]".repeat(n)}`),
  fc.integer({ min: 100_000, max: 1_000_000 }).map((n) => "9".repeat(n)),
);

/** A change to one field of a record: a random JSON value, or the field gone. */
const fieldChange = fc.record({
  key: fc.constantFrom(
    "format",
    "version",
    "generation",
    "updatedAt",
    "end",
    "owner",
    "holder",
    "client",
    "since",
    "lease",
    "kind",
    "port",
    "cpu",
    "shared",
    "address",
    "function",
    "pf",
  ),
  value: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
});

type Mutation =
  | { type: "delete" | "duplicate"; at: number }
  | { type: "swap"; at: number; with: number }
  | { type: "replace" | "insert"; at: number; line: string }
  | { type: "field"; at: number; key: string; value: unknown }
  | { type: "truncate"; at: number }
  | { type: "bytes"; at: number; text: string };

const index = fc.nat({ max: 1000 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ type: fc.constantFrom("delete" as const, "duplicate" as const), at: index }),
  fc.record({ type: fc.constant("swap" as const), at: index, with: index }),
  fc.record({
    type: fc.constantFrom("replace" as const, "insert" as const),
    at: index,
    line: garbageLine,
  }),
  fieldChange.chain((change) =>
    fc.record({
      type: fc.constant("field" as const),
      at: index,
      key: fc.constant(change.key),
      value: fc.constant(change.value),
    }),
  ),
  fc.record({ type: fc.constant("truncate" as const), at: fc.nat({ max: 100_000 }) }),
  fc.record({
    type: fc.constant("bytes" as const),
    at: fc.nat({ max: 100_000 }),
    text: fc.constantFrom("\r", "\0", "\uFEFF", "\n", "\n\n", "\\", '"', "\uD800", "é"),
  }),
);

function mutate(text: string, mutations: readonly Mutation[]): string {
  let lines = text.split("\n");
  for (const change of mutations) {
    const at = change.at % Math.max(1, lines.length);
    switch (change.type) {
      case "delete":
        lines.splice(at, 1);
        break;
      case "duplicate":
        lines.splice(at, 0, lines[at] ?? "");
        break;
      case "swap": {
        const other = change.with % Math.max(1, lines.length);
        [lines[at], lines[other]] = [lines[other] ?? "", lines[at] ?? ""];
        break;
      }
      case "replace":
        lines[at] = change.line;
        break;
      case "insert":
        lines.splice(at, 0, change.line);
        break;
      case "field": {
        let record: unknown;
        try {
          record = JSON.parse(lines[at] ?? "");
        } catch {
          break;
        }
        if (typeof record !== "object" || record === null) break;
        const fields = record as Record<string, unknown>;
        if (change.value === undefined) delete fields[change.key];
        else fields[change.key] = change.value;
        try {
          lines[at] = JSON.stringify(record);
        } catch {
          // Nesting too deep for JSON.stringify's recursion (a garbage line of `[[[…`): left as it was.
        }
        break;
      }
      case "truncate": {
        const joined = lines.join("\n");
        lines = joined.slice(0, change.at % (joined.length + 1)).split("\n");
        break;
      }
      case "bytes": {
        const joined = lines.join("\n");
        const cut = change.at % (joined.length + 1);
        lines = `${joined.slice(0, cut)}${change.text}${joined.slice(cut)}`.split("\n");
        break;
      }
    }
  }
  return lines.join("\n");
}

/** What a reader of the file may get: a sound state, or ERR_POOL_STATE naming the file and a line of it. */
function readOrRefuse(text: string): PoolState | PoolStateError {
  const started = performance.now();
  let result: PoolState | PoolStateError;
  try {
    result = parsePoolState(text, PATH);
  } catch (error) {
    if (!(error instanceof PoolStateError)) throw error;
    expect(error.code).toBe("ERR_POOL_STATE");
    expect(error.path).toBe(PATH);
    if (error.line !== undefined) {
      expect(error.line).toBeGreaterThanOrEqual(1);
      expect(error.line).toBeLessThanOrEqual(text.split("\n").length);
    }
    result = error;
  }
  expect(performance.now() - started).toBeLessThan(MAX_PARSE_MS);
  if (!(result instanceof PoolStateError)) expect(checkPoolState(result)).toBeUndefined();
  return result;
}

describe("the state file reader, property-based", () => {
  test("a random state: checkPoolState judges it; a sound one reads back as written, an unsound one is ERR_POOL_STATE", () => {
    fc.assert(
      fc.property(state, (written) => {
        const problem = checkPoolState(written);
        const read = readOrRefuse(serializePoolState(written));
        if (problem === undefined) expect(read).toEqual(written);
        else expect(read).toBeInstanceOf(PoolStateError);
      }),
      LIMITS,
    );
  });

  test("a state file mutated (lines lost, repeated, swapped, replaced by garbage or huge lines, fields changed, truncated, stray bytes): a sound state or ERR_POOL_STATE", () => {
    fc.assert(
      fc.property(state, fc.array(mutation, { minLength: 1, maxLength: 4 }), (written, changes) => {
        readOrRefuse(mutate(serializePoolState(written), changes));
      }),
      LIMITS,
    );
  });

  test("any text at all: ERR_POOL_STATE (or, by chance, a sound state)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary", maxLength: 2000 }),
          fc.array(garbageLine, { maxLength: 6 }).map((lines) => lines.join("\n")),
          fc
            .array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 6 })
            .map((values) => values.map((value) => JSON.stringify(value)).join("\n")),
        ),
        (text) => {
          readOrRefuse(text);
        },
      ),
      LIMITS,
    );
  });

  test("checkPoolState never throws, whatever the records hold", () => {
    const anyLease = fc.oneof(
      lease(["vm0", "vm1", "ghost"]),
      fc.dictionary(
        fc.constantFrom("lease", "owner", "cpu", "pf", "address", "function", "shared", "port"),
        fc.jsonValue({ maxDepth: 1 }),
      ),
    ) as fc.Arbitrary<LeaseRecord>;
    fc.assert(
      fc.property(
        fc.array(owner, { maxLength: 4 }),
        fc.array(anyLease, { maxLength: 10 }),
        (owners, leases) => {
          const problem = checkPoolState({ generation: 0, updatedAt: undefined, owners, leases });
          expect(problem === undefined || typeof problem === "string").toBe(true);
        },
      ),
      LIMITS,
    );
  });
});
