import { describe, expect, test } from "vitest";
import { checkPoolState, PoolStateError, parsePoolState } from "../../src/index.js";
import { emptyState, type PoolState } from "../../src/records/records.js";
import { serializePoolState } from "../../src/records/serialize.js";

const holder = { pid: 100, startTime: "5000", bootId: "boot-a", kind: "client" as const };
const client = { id: "c1", machine: "ctl", pid: 90 };
const since = "2025-01-01T00:00:00.000Z";

function sample(): PoolState {
  return {
    generation: 3,
    updatedAt: since,
    owners: [
      { owner: "vm0", holder, client, since },
      { owner: "vm1", holder: { ...holder, pid: 200, kind: "process" }, client, since },
    ],
    leases: [
      { lease: "port", owner: "vm0", kind: "forward", port: 6000, since },
      { lease: "cpu", owner: "vm1", cpu: 2, shared: true, since },
      { lease: "cpu", owner: "vm0", cpu: 2, shared: true, since },
      {
        lease: "pci",
        owner: "vm1",
        address: "0000:81:02.0",
        function: "vf",
        pf: "0000:81:00.0",
        since,
      },
    ],
  };
}

function reject(text: string): PoolStateError {
  try {
    parsePoolState(text, "/s");
  } catch (error) {
    expect(error).toBeInstanceOf(PoolStateError);
    return error as PoolStateError;
  }
  throw new Error("parsed");
}

function lines(state: PoolState): string[] {
  return serializePoolState(state).trimEnd().split("\n");
}

function withLines(edit: (lines: string[]) => void): string {
  const text = lines(sample());
  edit(text);
  return `${text.join("\n")}\n`;
}

describe("state file", () => {
  test("round-trips; each owner is followed by its leases; the end counts the records", () => {
    const text = serializePoolState(sample());
    const parsed = parsePoolState(text, "/s");
    expect(parsed.generation).toBe(3);
    expect(parsed.owners).toEqual(sample().owners);
    expect(parsed.leases).toHaveLength(sample().leases.length);
    expect(parsed.leases).toEqual(expect.arrayContaining(sample().leases));
    const rows = text
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(rows[0]).toMatchObject({ format: "qemu-kvm-pool", version: 1 });
    expect(rows.map((row) => row.owner !== undefined && row.lease === undefined)).toEqual([
      false,
      true,
      false,
      false,
      true,
      false,
      false,
      false,
    ]);
    expect(rows.at(-1)).toEqual({ end: 6 });
  });

  test("the holder's pid is the first pid of an owner line (the host script relies on it)", () => {
    const line = lines(sample())[1]!;
    expect(line.startsWith('{"owner":')).toBe(true);
    expect(/"pid":(\d+)/.exec(line)?.[1]).toBe("100");
  });

  test("an empty state serializes to a header and an end", () => {
    expect(parsePoolState(serializePoolState(emptyState()), "/s")).toEqual(emptyState());
  });

  test("refuses a truncated file (the end is missing, or counts differently)", () => {
    expect(reject(withLines((text) => text.pop())).reason).toMatch(/truncated/);
    expect(reject(withLines((text) => text.splice(2, 1))).reason).toMatch(/end counts/);
    expect(reject(serializePoolState(sample()).slice(0, -20)).reason).toMatch(/not JSON|truncated/);
    expect(reject("").reason).toMatch(/empty/);
  });

  test("refuses lines that are not JSON objects, unknown records and bad fields, naming the line", () => {
    const notJson = reject(withLines((text) => text.splice(2, 0, "{oops")));
    expect(notJson.line).toBe(3);
    expect(
      reject(withLines((text) => text.splice(2, 1, '{"lease":"gpu","owner":"vm0","since":"x"}')))
        .reason,
    ).toMatch(/unknown lease type/);
    expect(
      reject(
        withLines((text) =>
          text.splice(
            2,
            1,
            '{"lease":"port","owner":"vm0","kind":"forward","port":70000,"since":"x"}',
          ),
        ),
      ).reason,
    ).toMatch(/port/);
    expect(reject(withLines((text) => text.splice(2, 1, "[1]"))).reason).toMatch(
      /not a JSON object/,
    );
    expect(
      reject('{"format":"something-else","version":1,"generation":0}\n{"end":0}\n').reason,
    ).toMatch(/not a pool state/);
  });

  test("refuses a file from a newer version, saying so", () => {
    const text = `${JSON.stringify({ format: "qemu-kvm-pool", version: 2, generation: 0 })}\n{"end":0}\n`;
    expect(reject(text).reason).toMatch(/newer version/);
  });

  test("refuses inconsistent states: a resource held twice, a PF with its VF, a lease without an owner", () => {
    const check = (edit: (state: PoolState) => void) => {
      const state = sample();
      edit(state);
      return checkPoolState(state);
    };
    expect(check(() => {})).toBeUndefined();
    expect(
      check((s) =>
        s.leases.push({ lease: "port", owner: "vm1", kind: "serial", port: 6000, since }),
      ),
    ).toMatch(/port 6000/);
    expect(
      check((s) =>
        s.leases.push({
          lease: "pci",
          owner: "vm0",
          address: "0000:81:02.0",
          function: "vf",
          pf: "0000:81:00.0",
          since,
        }),
      ),
    ).toMatch(/leased to both/);
    expect(
      check((s) =>
        s.leases.push({
          lease: "pci",
          owner: "vm0",
          address: "0000:81:00.0",
          function: "pf",
          since,
        }),
      ),
    ).toMatch(/PF 0000:81:00.0/);
    expect(
      check((s) =>
        s.leases.push(
          { lease: "cpu", owner: "vm0", cpu: 5, shared: false, since },
          { lease: "cpu", owner: "vm1", cpu: 5, shared: true, since },
        ),
      ),
    ).toMatch(/CPU 5/);
    expect(
      check((s) => s.leases.push({ lease: "cpu", owner: "vm0", cpu: 2, shared: true, since })),
    ).toMatch(/twice/);
    expect(
      check((s) =>
        s.leases.push({ lease: "port", owner: "ghost", kind: "serial", port: 7000, since }),
      ),
    ).toMatch(/no owner/);
    expect(check((s) => s.owners.push({ ...s.owners[0]! }))).toMatch(/twice/);
    // And the parser applies the same checks to what it reads.
    const doubled = withLines((text) => {
      text.splice(
        -1,
        1,
        '{"lease":"port","owner":"vm1","kind":"serial","port":6000,"since":"x"}',
        '{"end":7}',
      );
    });
    expect(reject(doubled).reason).toMatch(/port 6000/);
  });
});
