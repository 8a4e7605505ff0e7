/** The command line of `pnpm bench`. Pure. */

/** A mistake on the command line (a bad option, an unknown name or revision): its message is enough. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface BenchArguments {
  /** `--against <rev>`: compare with that git revision. */
  against?: string;
  /** `--repo <dir>`: the repository whose benchmarks run (default: the one holding this tool). */
  repo?: string;
  /** `--runs <n>`: samples per case (and per side), instead of each case's own `runs`. */
  runs?: number;
  help: boolean;
  /** Benchmark names or prefixes. */
  filters: string[];
}

export const USAGE = `usage: pnpm bench [--against <git-rev>] [--repo <dir>] [NAME…]
  NAME…             run the benchmarks whose name starts with NAME (default: all)
  --against <rev>   run each benchmark of this tree side by side with the same one of <rev>
                    (checked out in a temporary git worktree); exit code 1 when a case is
                    more than 5 % slower; writes tools/bench/bench-compare.json
  --runs <n>        take n samples of every case (default: each case's own, mostly 5–9);
                    more runs give steadier medians on a loaded machine
  --repo <dir>      take the benchmarks of <dir> (default: this repository)`;

function positiveInteger(option: string, value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number < 1)
    throw new UsageError(`${option} needs a whole number of at least 1, not ${value}`);
  return number;
}

/** Parses argv (after the script); throws a UsageError on a mistake. */
export function parseBenchArguments(argv: readonly string[]): BenchArguments {
  const parsed: BenchArguments = { help: false, filters: [] };
  const valueAfter = (option: string, index: number): string => {
    const value = argv[index];
    if (value === undefined || value.startsWith("-"))
      throw new UsageError(`${option} needs a value`);
    return value;
  };
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    const [option, inline] = arg.startsWith("--") ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    if (arg === "--") continue;
    if (arg === "--help" || arg === "-h") parsed.help = true;
    else if (option === "--against" || option === "--repo" || option === "--runs") {
      const value = inline ?? valueAfter(option, ++index);
      if (value === "") throw new UsageError(`${option} needs a value`);
      if (option === "--against") parsed.against = value;
      else if (option === "--repo") parsed.repo = value;
      else parsed.runs = positiveInteger(option, value);
    } else if (arg.startsWith("-")) throw new UsageError(`unknown option ${arg}`);
    else parsed.filters.push(arg);
  }
  return parsed;
}
