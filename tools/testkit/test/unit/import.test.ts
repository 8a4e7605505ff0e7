import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, test } from "vitest";

test("a script outside vitest can import testkit (the benchmarks do, for startSshd)", async () => {
  const source = fileURLToPath(new URL("../../src/index.ts", import.meta.url));
  const script = `const kit = await import(${JSON.stringify(source)});
console.log(typeof kit.startSshd, typeof kit.test);`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", script],
    { cwd: fileURLToPath(new URL(".", import.meta.url)), timeout: 120_000 },
  );
  expect(stdout.trim()).toBe("function function");
});
