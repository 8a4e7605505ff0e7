import { join } from "node:path";
import { type RunResult, run } from "./process.js";
import { ROOT } from "./workspace.js";

/** A linter's verdict on one tarball. */
export interface LintReport {
  clean: boolean;
  /** What it printed, for the failure message. */
  output: string;
  result: RunResult;
}

const bin = (name: string) => join(ROOT, "node_modules", ".bin", name);

/**
 * `publint` on a packed tarball, warnings counted as errors (`--strict`), and clean
 * only when it reports nothing at all, suggestions included ("All good!").
 */
export async function publint(tarball: string): Promise<LintReport> {
  const result = await run(bin("publint"), ["run", tarball, "--strict", "--level", "suggestion"], {
    cwd: ROOT,
    timeoutMs: 60_000,
    env: { NO_COLOR: "1" },
  });
  const output = `${result.stdout}${result.stderr}`;
  return { clean: result.exitCode === 0 && output.includes("All good!"), output, result };
}

/**
 * `attw` (Are the Types Wrong?) on a packed tarball with the `esm-only` profile:
 * every resolution an ESM-only package must serve (node16 from ESM, bundler) has to
 * find types that match the JavaScript; `require()` from CommonJS and node10 are not
 * asked for. It exits non-zero on any problem the profile counts.
 */
export async function attw(tarball: string): Promise<LintReport> {
  const result = await run(
    bin("attw"),
    [tarball, "--profile", "esm-only", "--format", "ascii", "--no-color", "--no-emoji"],
    { cwd: ROOT, timeoutMs: 120_000 },
  );
  return { clean: result.exitCode === 0, output: `${result.stdout}${result.stderr}`, result };
}
