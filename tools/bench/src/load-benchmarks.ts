/** Finding, loading and choosing the benchmarks of a tree. */
import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Benchmark } from "./harness.js";

/** Where a tree keeps its benchmarks. */
export const BENCHMARKS_DIRECTORY = join("tools", "bench", "src", "benchmarks");

export interface LoadedBenchmark {
  /** Absolute path of the `*.bench.ts` file. */
  file: string;
  benchmark: Benchmark;
}

export interface LoadFailure {
  /** Absolute path of the `*.bench.ts` file. */
  file: string;
  error: unknown;
}

/**
 * Imports every `*.bench.ts` of `<tree>/tools/bench/src/benchmarks`, by absolute
 * path, in name order. A file that fails to import (or exports no Benchmark) is
 * returned in `failed`, so one broken benchmark does not stop the others.
 */
export async function loadBenchmarks(
  tree: string,
): Promise<{ loaded: LoadedBenchmark[]; failed: LoadFailure[] }> {
  const directory = join(tree, BENCHMARKS_DIRECTORY);
  const files = (await readdir(directory)).filter((file) => file.endsWith(".bench.ts")).sort();
  const loaded: LoadedBenchmark[] = [];
  const failed: LoadFailure[] = [];
  for (const name of files) {
    const file = join(directory, name);
    try {
      const module = (await import(pathToFileURL(file).href)) as { default?: Benchmark };
      if (typeof module.default?.setup !== "function")
        throw new Error(`${file} does not default-export a Benchmark`);
      loaded.push({ file, benchmark: module.default });
    } catch (error) {
      failed.push({ file, error });
    }
  }
  return { loaded, failed };
}

/** `host.bench.ts` → `host`. */
export function benchmarkStem(file: string): string {
  return basename(file).replace(/\.bench\.ts$/, "");
}

/**
 * The failures that may be a benchmark asked for: all without filters, else those
 * whose file stem and a filter are prefixes of each other (`guest` ↔ `guest-boot`).
 */
export function requestedFailures(
  failed: readonly LoadFailure[],
  filters: readonly string[],
): LoadFailure[] {
  if (filters.length === 0) return [...failed];
  return failed.filter(({ file }) => {
    const stem = benchmarkStem(file);
    return filters.some((filter) => stem.startsWith(filter) || filter.startsWith(stem));
  });
}

/**
 * Loads the benchmarks of `tree` named by `filters`. Every file that failed to import
 * is reported through `warn`; one that may have been asked for is an error.
 */
export async function loadChosenBenchmarks(
  tree: string,
  filters: readonly string[],
  warn: (line: string) => void,
): Promise<{ all: LoadedBenchmark[]; chosen: LoadedBenchmark[] }> {
  const { loaded, failed } = await loadBenchmarks(tree);
  const blocking = requestedFailures(failed, filters);
  for (const failure of failed)
    if (!blocking.includes(failure)) warn(`skipped, could not load ${describeFailure(failure)}`);
  if (blocking.length > 0) {
    const error = blocking.length === 1 ? blocking[0]!.error : undefined;
    throw new Error(`could not load ${blocking.map(describeFailure).join("; ")}`, { cause: error });
  }
  return { all: loaded, chosen: chooseBenchmarks(loaded, filters) };
}

/** The first line of an import error, for a message. */
export function describeFailure({ file, error }: LoadFailure): string {
  const message = error instanceof Error ? error.message : String(error);
  return `${basename(file)}: ${message.split("\n")[0]}`;
}

/** `pnpm bench NAME…` runs the benchmarks named NAME or starting with it; no name: all. */
export function chooseBenchmarks<T extends { benchmark: { name: string } }>(
  all: readonly T[],
  filters: readonly string[],
): T[] {
  if (filters.length === 0) return [...all];
  return all.filter(({ benchmark }) => filters.some((filter) => benchmark.name.startsWith(filter)));
}

/** The workspace packages a benchmark file imports (`@qemu-kvm/*`, `qemu-kvm`). */
export function workspaceImports(source: string): string[] {
  const pattern =
    /\bfrom\s+["']((?:@qemu-kvm\/[\w.-]+)|qemu-kvm)["']|\bimport\(\s*["']((?:@qemu-kvm\/[\w.-]+)|qemu-kvm)["']\s*\)/g;
  const found = new Set<string>();
  for (const match of source.matchAll(pattern)) found.add((match[1] ?? match[2])!);
  return [...found].sort();
}

/**
 * The file each workspace import of `file` resolves to, as Node resolves it for
 * this process (its `--conditions` included, symlinks followed).
 */
export async function resolveWorkspaceImports(
  file: string,
): Promise<Array<{ specifier: string; path: string }>> {
  const require = createRequire(file);
  return workspaceImports(await readFile(file, "utf8")).map((specifier) => ({
    specifier,
    path: require.resolve(specifier),
  }));
}
