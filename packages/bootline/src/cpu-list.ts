/** Highest CPU number accepted (Linux's largest NR_CPUS is 8192). */
export const MAX_CPU = 8191;

/**
 * Parses a host CPU list: numbers and ranges separated by commas or whitespace
 * (`3 4 5 6`, `3,4,5,6`, `3-6`, `0-3,8-11`). Returns them in ascending order
 * without duplicates, or undefined when the text is not a CPU list.
 */
export function parseCpuList(text: string): number[] | undefined {
  const items = text.trim().split(/[\s,]+/);
  if (items.length === 0 || items[0] === "") return undefined;
  const cpus = new Set<number>();
  for (const item of items) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(item);
    if (!match) return undefined;
    const low = Number(match[1]);
    const high = match[2] === undefined ? low : Number(match[2]);
    if (low > high || high > MAX_CPU) return undefined;
    for (let cpu = low; cpu <= high; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** Formats CPUs as the compact list `taskset -c` and cgroups read: `3-6,9`. */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const ranges: string[] = [];
  let index = 0;
  while (index < sorted.length) {
    const start = sorted[index]!;
    let end = start;
    while (sorted[index + 1] === end + 1) {
      end++;
      index++;
    }
    ranges.push(start === end ? `${start}` : `${start}-${end}`);
    index++;
  }
  return ranges.join(",");
}
