/**
 * `pnpm bench [NAME…]`: every benchmark with its baseline (see harness.ts).
 * `pnpm bench --against <rev> [NAME…]`: this tree against an older revision (see compare/against.ts).
 * Exit code: 0 done (and no case more than 5 % slower), 1 a case more than 5 % slower,
 * 2 the run failed (bad arguments, a failed setup, git or pnpm), 130 interrupted.
 */
import { writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseBenchArguments, USAGE, UsageError } from "./cli-arguments.js";
import { benchAgainst } from "./compare/against.js";
import type { Worktree } from "./compare/worktree.js";
import { formatNumber, formatTable } from "./format.js";
import { type BenchResult, runCase } from "./harness.js";
import { loadChosenBenchmarks } from "./load-benchmarks.js";

const here = dirname(fileURLToPath(import.meta.url));
const log = (line: string) => console.log(line);
const warn = (line: string) => console.error(line);

function resultTable(results: BenchResult[]): string[] {
  return formatTable([
    ["benchmark", "unit", "median", "p90", "runs", "baseline", "base median", "base p90", "ratio"],
    ...results.map((r) => [
      r.name,
      r.unit,
      formatNumber(r.median),
      formatNumber(r.p90),
      String(r.runs),
      r.baseline?.name ?? "-",
      r.baseline ? formatNumber(r.baseline.median) : "-",
      r.baseline ? formatNumber(r.baseline.p90) : "-",
      r.ratio === undefined ? "-" : `${r.ratio.toFixed(2)}x`,
    ]),
  ]);
}

/** Every chosen benchmark, each case with its own baseline; writes bench-results.json. */
async function benchPlain(
  repo: string,
  filters: readonly string[],
  runs: number | undefined,
  signal: AbortSignal,
): Promise<void> {
  const { all, chosen } = await loadChosenBenchmarks(repo, filters, warn);
  if (chosen.length === 0)
    throw new UsageError(
      `no benchmark matches ${filters.join(", ")}; known: ${all.map((b) => b.benchmark.name).join(", ")}`,
    );
  const results: BenchResult[] = [];
  for (const { benchmark } of chosen) {
    log(`\n# ${benchmark.name}: ${benchmark.description}`);
    const { cases, teardown } = await benchmark.setup(signal);
    try {
      for (const benchCase of cases) {
        const result = await runCase({ ...benchCase, runs: runs ?? benchCase.runs }, signal);
        results.push(result);
        log(
          `  ${result.name}: median ${formatNumber(result.median)} ${result.unit}` +
            (result.ratio === undefined
              ? ""
              : `, ratio ${result.ratio.toFixed(2)}x vs ${result.baseline!.name}`),
        );
      }
    } finally {
      await teardown();
    }
  }
  log("");
  for (const line of resultTable(results)) log(line);
  const output = results.map(({ samples: _s, baseline, ...rest }) => ({
    ...rest,
    ...(baseline
      ? { baseline: { name: baseline.name, median: baseline.median, p90: baseline.p90 } }
      : {}),
  }));
  await writeFile(join(repo, "bench-results.json"), `${JSON.stringify(output, null, 2)}\n`);
  log(`\nwrote bench-results.json (${results.length} results)`);
}

/**
 * Ctrl-C (or SIGTERM) once: abort (setups, cases and the worktree are cleaned up);
 * twice: exit at once, the worktree still removed by the exit hook.
 */
function handleInterrupts(controller: AbortController): { setWorktree(w?: Worktree): void } {
  let worktree: Worktree | undefined;
  const interrupted = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      console.error(`${signal} again: exiting now`);
      process.exit(130);
    }
    console.error(`${signal}: cleaning up (Ctrl-C again to exit at once)`);
    controller.abort(new Error(`interrupted (${signal})`));
  };
  process.on("SIGINT", interrupted);
  process.on("SIGTERM", interrupted);
  process.on("exit", () => worktree?.removeSync());
  return {
    setWorktree(w) {
      worktree = w;
    },
  };
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parseBenchArguments>;
  try {
    args = parseBenchArguments(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    log(USAGE);
    return 0;
  }
  const repo = args.repo ? resolve(args.repo) : join(here, "..", "..", "..");
  const controller = new AbortController();
  const interrupts = handleInterrupts(controller);
  try {
    if (args.against === undefined) {
      await benchPlain(repo, args.filters, args.runs, controller.signal);
      return 0;
    }
    const outcome = await benchAgainst({
      repo,
      rev: args.against,
      filters: args.filters,
      ...(args.runs === undefined ? {} : { runs: args.runs }),
      signal: controller.signal,
      log,
      warn,
      onWorktree: (worktree) => interrupts.setWorktree(worktree),
    });
    return outcome.exitCode;
  } catch (error) {
    if (controller.signal.aborted) {
      console.error("interrupted");
      return 130;
    }
    if (error instanceof UsageError) console.error(error.message);
    else console.error(error);
    return 2;
  }
}

process.exitCode = await main();
