/**
 * Host CPU lists as Linux writes them (`/sys/devices/system/cpu/online`,
 * `nodeN/cpulist`, `taskset -c`, `isolcpus=`) and as DTS configs write them:
 * numbers and inclusive ranges separated by commas or whitespace (`0-3,8`,
 * `3 4 5 6`). One reading for every package.
 */

/** The highest CPU number (Linux's largest NR_CPUS is 8192). */
export const MAX_CPU = 8191;

/**
 * The CPUs of a list, ascending and without repeats; `undefined` when the text
 * is not a CPU list (a bad item, a range written backwards, a CPU above
 * {@link MAX_CPU}). An empty or blank text is the empty list (Linux writes an
 * empty `isolated` file so).
 */
export function parseCpuList(text: string): number[] | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  // Ranges first, merged, then expanded once: a list that repeats a wide range many
  // times costs its length, not its length times the range's width.
  const ranges: [number, number][] = [];
  for (const item of trimmed.split(/[\s,]+/)) {
    const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(item);
    if (!match) return undefined;
    const low = Number(match[1]);
    const high = match[2] === undefined ? low : Number(match[2]);
    if (low > high || high > MAX_CPU) return undefined;
    ranges.push([low, high]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const cpus: number[] = [];
  let next = 0; // the lowest CPU not yet listed
  for (const [low, high] of ranges)
    for (let cpu = Math.max(low, next); cpu <= high; cpu++) {
      cpus.push(cpu);
      next = cpu + 1;
    }
  return cpus;
}

/** CPUs as the compact list `taskset -c` and cgroups read: `[0,1,2,3,8]` → `0-3,8`. */
export function formatCpuList(cpus: Iterable<number>): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let index = 0; index < sorted.length; index++) {
    const from = sorted[index]!;
    let to = from;
    while (sorted[index + 1] === to + 1) to = sorted[++index]!;
    parts.push(from === to ? `${from}` : `${from}-${to}`);
  }
  return parts.join(",");
}
