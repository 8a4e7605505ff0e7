import { readFileSync } from "node:fs";
import { afterEach, describe, expect, test, vi } from "vitest";
import { createLocalHost, DEFAULT_TIMEOUTS, type TimedOperation } from "../../src/index.js";
import { resolveSshOptions } from "../../src/ssh/ssh-options.js";

const ssh = { host: "lab1", privateKey: "k", hostKey: "insecure-accept-any" } as const;
const invalid = (field: string) => expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field });

/** The README's table of default deadlines: operation → milliseconds. */
function documentedDefaults(): Record<string, number> {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.split("### Default deadlines")[1]?.split("\n#")[0] ?? "";
  const table: Record<string, number> = {};
  for (const row of section.split("\n")) {
    const cells = row.split("|").map((cell) => cell.trim());
    const ms = /\(([\d ]+) ms\)/.exec(cells[2] ?? "")?.[1];
    if (ms === undefined) continue;
    for (const [, name] of (cells[1] ?? "").matchAll(/`(\w+)`/g))
      table[name!] = Number(ms.replaceAll(" ", ""));
  }
  return table;
}

describe("default deadlines", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test("every operation has a finite default, as the README's table says", () => {
    for (const value of Object.values(DEFAULT_TIMEOUTS)) {
      expect(value).toBeGreaterThan(0);
      expect(Number.isFinite(value)).toBe(true);
    }
    expect(documentedDefaults()).toEqual({ ...DEFAULT_TIMEOUTS });
  });

  test("with no timeoutMs, a call that never ends rejects at its built-in default", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const host = createLocalHost();
    // This process never exits while the test runs: only the default deadline ends the wait.
    const waiting = host.waitForExit(process.pid).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(DEFAULT_TIMEOUTS.waitForExit - 1000);
    const early = await Promise.race([waiting, Promise.resolve("pending")]);
    expect(early).toBe("pending");
    await vi.advanceTimersByTimeAsync(2000);
    expect(await waiting).toMatchObject({
      code: "ERR_TIMEOUT",
      timeoutMs: DEFAULT_TIMEOUTS.waitForExit,
      message: expect.stringContaining("the default deadline of waitForExit"),
    });
    vi.useRealTimers();
    await host.close();
  });

  test("defaultTimeouts is checked on both transports, naming the field", () => {
    const cases: [unknown, string][] = [
      [{ exce: 1 }, "defaultTimeouts.exce"],
      [{ readFile: -1 }, "defaultTimeouts.readFile"],
      [{ exec: Number.NaN }, "defaultTimeouts.exec"],
      [{ exec: "1000" }, "defaultTimeouts.exec"],
      [[], "defaultTimeouts"],
    ];
    for (const [value, field] of cases) {
      const defaultTimeouts = value as Partial<Record<TimedOperation, number>>;
      expect(() => createLocalHost({ defaultTimeouts })).toThrow(invalid(field));
      expect(() => resolveSshOptions({ ...ssh, defaultTimeouts })).toThrow(invalid(field));
    }
    expect(() => createLocalHost({ socket: 1 } as never)).toThrow(invalid("options.socket"));
    expect(
      resolveSshOptions({ ...ssh, defaultTimeouts: { exec: Number.POSITIVE_INFINITY } })
        .defaultTimeouts,
    ).toEqual({ ...DEFAULT_TIMEOUTS, exec: Number.POSITIVE_INFINITY });
  });
});
