#!/usr/bin/env node
/**
 * The `qemu-kvm` command (the package's `bin`). Run from source in the
 * repository: `pnpm qemu-kvm …` (tsx with the `@qemu-kvm/source` condition).
 */
import manifest from "../../package.json" with { type: "json" };
import { EXIT } from "./exit-codes.js";
import { run } from "./run.js";

const controller = new AbortController();
/** The first SIGINT/SIGTERM stops what runs (and what it started); a second one leaves at once. */
function interrupt(signal: NodeJS.Signals): void {
  if (controller.signal.aborted) process.exit(EXIT.interrupted);
  controller.abort(new Error(`interrupted (${signal})`));
}
process.on("SIGINT", interrupt);
process.on("SIGTERM", interrupt);
// A reader that goes away (`qemu-kvm demo | head`) makes our writes fail with EPIPE. Each
// write reports it to the verb, which then stops what it started; the streams' own error
// events must not end the process first, leaving a VM behind.
process.stdout.on("error", () => {});
process.stderr.on("error", () => {});

process.exitCode = await run(
  process.argv.slice(2),
  {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    signal: controller.signal,
  },
  manifest.version,
);
process.off("SIGINT", interrupt);
process.off("SIGTERM", interrupt);
