import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, test } from "vitest";

const source = fileURLToPath(new URL("../../src/index.ts", import.meta.url));

/** Runs `script` (an ES module) in a plain Node with tsx, outside vitest: no VITEST in its environment. */
async function outsideVitest(script: string): Promise<string> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("VITEST")),
  );
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", script],
    { cwd: fileURLToPath(new URL(".", import.meta.url)), env, timeout: 120_000 },
  );
  return stdout.trim();
}

test("outside vitest, importing testkit works and loads no vitest (the benchmarks do, for startSshd)", async () => {
  // vitest sets up a global expect when imported, and a second copy of vitest in the same
  // process then fails at import (what `pnpm bench --against` would hit): the fixtures,
  // which need vitest, live apart in `@qemu-kvm/testkit/fixtures`.
  const stdout = await outsideVitest(`const kit = await import(${JSON.stringify(source)});
console.log(typeof kit.startSshd, typeof kit.test, Symbol.for("expect-global") in globalThis);`);
  expect(stdout).toBe("function undefined false");
});
