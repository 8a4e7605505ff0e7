import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type CodeBlock, ROOT, readmes, typescriptBlocks } from "../../src/readme-blocks.js";

/**
 * Every TypeScript block of every README type-checks, as a module of its own,
 * against the packages' sources, with the workspace's strict settings. A block
 * that is not meant to compile is not TypeScript: fence it as `text`.
 */
const files = readmes();
const blocks = new Map<string, CodeBlock[]>(
  files.map((readme) => [
    readme,
    typescriptBlocks(readme, readFileSync(join(ROOT, readme), "utf8")),
  ]),
);
const problems = new Map<string, string[]>();
let work: string;

beforeAll(() => {
  // Inside this package, so that the blocks resolve the workspace packages it depends on.
  work = mkdtempSync(join(import.meta.dirname, "..", "..", ".readme-"));
  const byFile = new Map<string, CodeBlock>();
  for (const list of blocks.values())
    for (const block of list) {
      const file = join(work, `block-${byFile.size + 1}.ts`);
      byFile.set(file, block);
      writeFileSync(file, `${block.code}\nexport {};\n`);
    }
  const base = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, "tsconfig.base.json"),
    { noEmit: true },
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  )!;
  const program = ts.createProgram([...byFile.keys()], base.options);
  // Per file, syntax and types both: tsc itself skips type errors once any file has a syntax error.
  for (const [file, block] of byFile) {
    const source = program.getSourceFile(file)!;
    const diagnostics = [
      ...program.getSyntacticDiagnostics(source),
      ...program.getSemanticDiagnostics(source),
    ];
    for (const diagnostic of diagnostics) {
      const { line, character } = source.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, " ");
      const where = `${block.readme}:${block.line + line}:${character + 1}`;
      problems.set(block.readme, [...(problems.get(block.readme) ?? []), `${where} ${message}`]);
    }
  }
  const global = program.getGlobalDiagnostics().concat(program.getOptionsDiagnostics());
  if (global.length > 0)
    problems.set(
      "(tsc)",
      global.map((d) => ts.flattenDiagnosticMessageText(d.messageText, " ")),
    );
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the READMEs are found, with TypeScript examples", () => {
  expect(files).toContain("README.md");
  expect(files).toContain("packages/core/README.md");
  expect([...blocks.values()].flat().length).toBeGreaterThan(5);
  expect(problems.get("(tsc)")).toBeUndefined();
});

describe.each(files)("%s", (readme) => {
  test("every TypeScript block type-checks", () => {
    expect(problems.get(readme) ?? []).toEqual([]);
  });
});
