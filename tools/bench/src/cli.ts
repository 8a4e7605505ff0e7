import { readdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Benchmark, type BenchResult, runCase } from "./harness.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");

async function loadBenchmarks(): Promise<Benchmark[]> {
  const dir = join(here, "benchmarks");
  const files = (await readdir(dir)).filter((file) => file.endsWith(".bench.ts")).sort();
  const loaded: Benchmark[] = [];
  for (const file of files) {
    const module = (await import(join(dir, file))) as { default: Benchmark };
    loaded.push(module.default);
  }
  return loaded;
}

function format(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  return magnitude >= 100 ? value.toFixed(0) : magnitude >= 1 ? value.toFixed(2) : value.toFixed(4);
}

function printTable(results: BenchResult[]): void {
  const rows = [
    ["benchmark", "unit", "median", "p90", "runs", "baseline", "base median", "base p90", "ratio"],
    ...results.map((r) => [
      r.name,
      r.unit,
      format(r.median),
      format(r.p90),
      String(r.runs),
      r.baseline?.name ?? "-",
      r.baseline ? format(r.baseline.median) : "-",
      r.baseline ? format(r.baseline.p90) : "-",
      r.ratio === undefined ? "-" : `${r.ratio.toFixed(2)}x`,
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const [index, row] of rows.entries()) {
    console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join("  "));
    if (index === 0) console.log(widths.map((width) => "-".repeat(width)).join("  "));
  }
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2).filter((arg) => arg !== "--");
  const all = await loadBenchmarks();
  const chosen = filters.length
    ? all.filter((b) => filters.some((filter) => b.name === filter || b.name.startsWith(filter)))
    : all;
  if (chosen.length === 0) {
    console.error(
      `no benchmark matches ${filters.join(", ")}; known: ${all.map((b) => b.name).join(", ")}`,
    );
    process.exitCode = 2;
    return;
  }
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort(new Error("interrupted")));
  const results: BenchResult[] = [];
  for (const benchmark of chosen) {
    console.log(`\n# ${benchmark.name}: ${benchmark.description}`);
    const { cases, teardown } = await benchmark.setup(controller.signal);
    try {
      for (const benchCase of cases) {
        const result = await runCase(benchCase, controller.signal);
        results.push(result);
        console.log(
          `  ${result.name}: median ${format(result.median)} ${result.unit}` +
            (result.ratio === undefined
              ? ""
              : `, ratio ${result.ratio.toFixed(2)}x vs ${result.baseline!.name}`),
        );
      }
    } finally {
      await teardown();
    }
  }
  console.log("");
  printTable(results);
  const output = results.map(({ samples: _s, baseline, ...rest }) => ({
    ...rest,
    ...(baseline
      ? { baseline: { name: baseline.name, median: baseline.median, p90: baseline.p90 } }
      : {}),
  }));
  await writeFile(join(root, "bench-results.json"), `${JSON.stringify(output, null, 2)}\n`);
  console.log(`\nwrote bench-results.json (${results.length} results)`);
}

await main();
