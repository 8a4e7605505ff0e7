/**
 * `pnpm bench --against <rev> [NAME…]`: this tree's benchmarks side by side with
 * the same benchmarks of `rev`, checked out in a temporary git worktree, in one
 * process. Writes `tools/bench/bench-compare.json`.
 */
import { writeFile } from "node:fs/promises";
import { isAbsolute, join, relative } from "node:path";
import { UsageError } from "../cli-arguments.js";
import {
  benchmarkStem,
  chooseBenchmarks,
  describeFailure,
  type LoadedBenchmark,
  loadBenchmarks,
  loadChosenBenchmarks,
  requestedFailures,
  resolveWorkspaceImports,
} from "../load-benchmarks.js";
import { compareBenchmarks } from "./compare-benchmarks.js";
import {
  type ComparisonReport,
  comparisonSummary,
  comparisonTable,
  type NotCompared,
  notComparedLines,
  slowerCases,
} from "./report.js";
import { addWorktree, installDependencies, runTool, type Worktree } from "./worktree.js";

export interface AgainstOptions {
  /** The repository whose working tree is "after". */
  repo: string;
  /** The git revision that is "before". */
  rev: string;
  /** Benchmark names (or prefixes); none: all. */
  filters: readonly string[];
  /** Samples per case and side (default: each case's own `runs`). */
  runs?: number;
  signal: AbortSignal;
  /** Progress and results for people. */
  log: (line: string) => void;
  /** Warnings for people. */
  warn: (line: string) => void;
  /** Called with the worktree once it exists (and undefined once removed), so a hard exit can remove it too. */
  onWorktree?: (worktree: Worktree | undefined) => void;
}

export interface AgainstOutcome {
  report: ComparisonReport;
  /**
   * 1: a case is more than the threshold slower; else 2 if a benchmark asked for
   * could not be loaded from `rev` (the comparison is incomplete); else 0.
   */
  exitCode: 0 | 1 | 2;
  outputPath: string;
}

function inside(tree: string, path: string): boolean {
  const rel = relative(tree, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

/**
 * Logs where each chosen benchmark and the workspace packages it imports come from,
 * and fails if any resolves outside its own tree (the comparison would then measure
 * one tree's code twice).
 */
async function checkOrigins(
  label: string,
  tree: string,
  chosen: readonly LoadedBenchmark[],
  log: (line: string) => void,
): Promise<void> {
  for (const { file } of chosen) {
    log(`  ${label}: ${file}`);
    for (const { specifier, path } of await resolveWorkspaceImports(file)) {
      log(`    ${specifier} → ${path}`);
      if (!inside(tree, path))
        throw new Error(`${file} would load ${specifier} from ${path}, outside its tree ${tree}`);
    }
  }
}

async function describeThisTree(repo: string): Promise<{ commit: string; uncommitted: boolean }> {
  const options = { cwd: repo, timeoutMs: 60_000 };
  const commit = (await runTool("git", ["rev-parse", "HEAD"], options)).trim();
  const status = await runTool("git", ["status", "--porcelain", "--untracked-files=no"], options);
  return { commit, uncommitted: status.trim() !== "" };
}

/**
 * The old tree's benchmarks named by the filters. A file that fails to import there
 * is not fatal: the benchmark shows as "only in this tree", and one that may have
 * been asked for is returned as not compared.
 */
async function loadBefore(
  tree: string,
  options: AgainstOptions,
): Promise<{ chosen: LoadedBenchmark[]; unloadable: NotCompared[] }> {
  const { loaded, failed } = await loadBenchmarks(tree);
  const requested = requestedFailures(failed, options.filters);
  for (const failure of failed)
    options.warn(`${options.rev}: could not load ${describeFailure(failure)}`);
  return {
    chosen: chooseBenchmarks(loaded, options.filters),
    unloadable: requested.map((failure) => ({
      name: benchmarkStem(failure.file),
      reason: `could not load from ${options.rev}: ${describeFailure(failure)}`,
    })),
  };
}

async function printAndSave(
  report: ComparisonReport,
  json: object,
  options: AgainstOptions,
): Promise<string> {
  const { log, rev, repo } = options;
  log("");
  for (const line of comparisonTable(report)) log(line);
  for (const line of notComparedLines(report)) log(line);
  log("");
  log(`against ${rev}: ${comparisonSummary(report)}`);
  const outputPath = join(repo, "tools", "bench", "bench-compare.json");
  await writeFile(outputPath, `${JSON.stringify({ ...json, ...report }, null, 2)}\n`);
  log(`wrote ${outputPath}`);
  return outputPath;
}

/** Runs the comparison; the worktree is removed before this settles, also on failure or abort. */
export async function benchAgainst(options: AgainstOptions): Promise<AgainstOutcome> {
  const { repo, rev, filters, signal, log } = options;
  const after = await loadChosenBenchmarks(repo, filters, options.warn);
  if (after.chosen.length === 0)
    throw new UsageError(
      `no benchmark matches ${filters.join(", ")}; known: ${after.all.map((b) => b.benchmark.name).join(", ")}`,
    );
  const thisTree = await describeThisTree(repo);
  // Guest-booting benchmarks of both trees share one guest cache (its entries are keyed by recipe).
  process.env.QEMU_KVM_TEST_GUEST_CACHE ??= join(repo, "tools", "test-guest", ".cache");

  log(`before: ${rev}: adding a worktree…`);
  const worktree = await addWorktree(repo, rev, signal);
  options.onWorktree?.(worktree);
  try {
    log(`before: ${rev} = ${worktree.commit} in ${worktree.path}`);
    log(`  ${await installDependencies(worktree.path, signal)}: done`);
    const before = await loadBefore(worktree.path, options);
    const dirty = thisTree.uncommitted ? " + uncommitted changes" : "";
    log(`after: this tree ${repo} (HEAD ${thisTree.commit}${dirty})`);
    await checkOrigins("before", worktree.path, before.chosen, log);
    await checkOrigins("after", repo, after.chosen, log);
    const report = await compareBenchmarks({
      before: before.chosen.map(({ benchmark }) => benchmark),
      after: after.chosen.map(({ benchmark }) => benchmark),
      beforeLabel: rev,
      signal,
      log,
      ...(options.runs === undefined ? {} : { runs: options.runs }),
    });
    report.notCompared.push(...before.unloadable);
    const json = { against: rev, before: { commit: worktree.commit }, after: thisTree };
    const outputPath = await printAndSave(report, json, options);
    const exitCode = slowerCases(report).length > 0 ? 1 : before.unloadable.length > 0 ? 2 : 0;
    return { report, exitCode, outputPath };
  } finally {
    log(`removing the worktree ${worktree.path}`);
    for (const problem of await worktree.remove()) options.warn(`  could not: ${problem}`);
    options.onWorktree?.(undefined);
  }
}
