import { afterEach, expect, test, vi } from "vitest";
import { newNotes, printNotes } from "../../src/benchmarks/vm/notes.js";

afterEach(() => {
  vi.restoreAllMocks();
});

test("printNotes: the median laps of what was noted, and nothing else", () => {
  const log = vi.spyOn(console, "log").mockImplementation(() => {});
  const notes = newNotes();
  notes.bareStart.push(
    [
      { label: "spawn", ms: 40 },
      { label: "login", ms: 100 },
    ],
    [
      { label: "spawn", ms: 60 },
      { label: "login", ms: 120 },
    ],
  );
  notes.facadeRssKiB.push(3, 9, 5);
  printNotes(notes, 16);
  expect(log).toHaveBeenCalledTimes(1);
  expect(log.mock.calls[0]![0]).toBe(
    [
      "\n  vm: where the time went (median ms)",
      "  bare start (2 samples): spawn 50, login 110",
      "  RSS growth per VM (KiB, median): facade 5, bare -",
    ].join("\n"),
  );
});

test("printNotes: silent when no sample noted anything", () => {
  const log = vi.spyOn(console, "log").mockImplementation(() => {});
  printNotes(newNotes(), 16);
  expect(log).not.toHaveBeenCalled();
});
