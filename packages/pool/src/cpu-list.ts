/**
 * Linux CPU lists (`/sys/devices/system/cpu/online`, `nodeN/cpulist`, `isolcpus`):
 * comma-separated numbers and inclusive ranges, `0-3,8,10-11`.
 */

const MAX_CPU = 1 << 16;

/** Parses a CPU list into sorted unique numbers; `undefined` if it is not one. An empty string is an empty list. */
export function parseCpuList(text: string): number[] | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  const cpus = new Set<number>();
  for (const part of trimmed.split(",")) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!match) return undefined;
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (to < from || to >= MAX_CPU) return undefined;
    for (let cpu = from; cpu <= to; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** Formats numbers as a CPU list with ranges: `[0,1,2,3,8]` → `0-3,8`. */
export function formatCpuList(cpus: Iterable<number>): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let index = 0; index < sorted.length; ) {
    const from = sorted[index]!;
    let to = from;
    while (index + 1 < sorted.length && sorted[index + 1] === to + 1) to = sorted[++index]!;
    parts.push(from === to ? `${from}` : `${from}-${to}`);
    index++;
  }
  return parts.join(",");
}
