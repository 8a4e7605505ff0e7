import fc from "fast-check";
import { expect, test } from "vitest";
import { formatCpuList, MAX_CPU, parseCpuList } from "../../src/index.js";

/** The plain reading: every CPU of every range, one at a time. */
function expand(ranges: readonly (readonly [number, number])[]): number[] {
  const cpus = new Set<number>();
  for (const [low, high] of ranges) for (let cpu = low; cpu <= high; cpu++) cpus.add(cpu);
  return [...cpus].sort((a, b) => a - b);
}

const range = fc
  .tuple(fc.integer({ min: 0, max: MAX_CPU }), fc.integer({ min: 0, max: 64 }))
  .map(([low, width]) => [low, Math.min(MAX_CPU, low + width)] as const);

test("a list of ranges, overlapping and repeated in any order, reads as every CPU in them once, ascending", () => {
  fc.assert(
    fc.property(fc.array(range, { minLength: 1, maxLength: 40 }), (ranges) => {
      const text = ranges
        .map(([low, high]) => (low === high ? `${low}` : `${low}-${high}`))
        .join(",");
      const cpus = parseCpuList(text);
      expect(cpus).toEqual(expand(ranges));
      expect(parseCpuList(formatCpuList(cpus!))).toEqual(cpus);
    }),
    { numRuns: 300, seed: 1302, interruptAfterTimeLimit: 3000 },
  );
});

test("a wide range repeated 20,000 times is read once, not 20,000 times (it took seconds)", () => {
  const cpus = parseCpuList(`0-${MAX_CPU},`.repeat(20_000).slice(0, -1));
  expect(cpus).toHaveLength(MAX_CPU + 1);
  expect(cpus![MAX_CPU]).toBe(MAX_CPU);
});
