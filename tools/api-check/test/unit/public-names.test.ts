import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, test } from "vitest";
import { codesIn, PACKAGES, SHARED_CODES, sourceFiles } from "../../src/packages.js";
import { ROOT } from "../../src/readme-blocks.js";

test("the six packages' public names never collide (types included)", () => {
  const file = join(import.meta.dirname, "..", "types", "all-names.ts");
  const base = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, "tsconfig.base.json"),
    { noEmit: true },
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  )!;
  const program = ts.createProgram([file], base.options);
  const source = program.getSourceFile(file)!;
  const diagnostics = [
    ...program.getSyntacticDiagnostics(source),
    ...program.getSemanticDiagnostics(source),
  ].map((d) => ts.flattenDiagnosticMessageText(d.messageText, " "));
  expect(diagnostics).toEqual([]);
});

test("the facade exports every public name of every package, types included", () => {
  const base = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, "tsconfig.base.json"),
    { noEmit: true },
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  )!;
  const index = (dir: string) => join(ROOT, dir, "src", "index.ts");
  const program = ts.createProgram(
    PACKAGES.map(({ dir }) => index(dir)),
    base.options,
  );
  const checker = program.getTypeChecker();
  const names = (dir: string) =>
    checker
      .getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(index(dir))!)!)
      .map((symbol) => symbol.getName());
  const facade = new Set(names("packages/qemu-kvm"));
  const missing = PACKAGES.filter(({ name }) => name !== "qemu-kvm").flatMap(({ name, dir }) =>
    names(dir)
      .filter((exported) => !facade.has(exported))
      .map((exported) => `${name}: ${exported}`),
  );
  expect(missing).toEqual([]);
});

test("a name exported by several packages is the same thing in each", async () => {
  const seen = new Map<string, { value: unknown; from: string }>();
  const clashes: string[] = [];
  for (const { name } of PACKAGES) {
    const exports = (await import(name)) as Record<string, unknown>;
    for (const [key, value] of Object.entries(exports)) {
      const first = seen.get(key);
      if (!first) seen.set(key, { value, from: name });
      else if (first.value !== value) clashes.push(`${key}: ${first.from} and ${name}`);
    }
  }
  expect(clashes).toEqual([]);
  expect(seen.size).toBeGreaterThan(100);
});

describe.each(PACKAGES)("$name", ({ dir, areas }) => {
  const codes = codesIn(dir);
  const readme = readFileSync(join(ROOT, dir, "README.md"), "utf8");

  test("its error codes follow the convention: the shared codes, or ERR_<its area>_<WHAT>", () => {
    const strays = [...codes.keys()].filter(
      (code) =>
        !SHARED_CODES.includes(code) &&
        !areas.some((area) => code.startsWith(`ERR_${area}_`)) &&
        // Node's own codes the package reads (ECONNRESET is not an ERR_; these are).
        !code.startsWith("ERR_STREAM_"),
    );
    expect(strays).toEqual([]);
  });

  test("its README lists each of its own codes", () => {
    const own = [...codes.keys()].filter((code) => !code.startsWith("ERR_STREAM_"));
    const missing = own.filter((code) => !readme.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });

  test("no source file keeps a second table of codes in a comment", () => {
    const tables = sourceFiles(join(dir, "src")).filter((file) =>
      /^\s*\*\s*\|\s*code\s*\|/m.test(readFileSync(join(ROOT, file), "utf8")),
    );
    expect(tables).toEqual([]);
  });
});
