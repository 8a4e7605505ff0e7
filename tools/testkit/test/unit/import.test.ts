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

test("a script outside vitest can import testkit (the benchmarks do, for startSshd)", async () => {
  const stdout = await outsideVitest(`const kit = await import(${JSON.stringify(source)});
console.log(typeof kit.startSshd, typeof kit.test);`);
  expect(stdout).toBe("function function");
});

test("outside vitest, importing testkit loads no vitest, so a second testkit (another tree's) can load too", async () => {
  // vitest sets up a global expect when imported; a second copy of vitest in the same
  // process then fails at import (what \`pnpm bench --against\` would hit).
  const stdout = await outsideVitest(`const kit = await import(${JSON.stringify(source)});
console.log(Symbol.for("expect-global") in globalThis);
try { kit.test("x", () => {}); } catch (error) { console.log(error.message); }`);
  expect(stdout.split("\n")).toEqual(["false", "@qemu-kvm/testkit's test runs only inside vitest"]);
});
