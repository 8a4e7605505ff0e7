import { join } from "node:path";
import { type MarkdownCodeBlock, typescriptBlocks } from "@qemu-kvm/testkit";
import ts from "typescript";

/** One TypeScript block of a README (testkit's Markdown reader). */
export type Example = MarkdownCodeBlock;

export { typescriptBlocks };

/**
 * What a user of the published packages compiles with: strict, NodeNext, Node's
 * types; no workspace condition (`@qemu-kvm/source`), so imports resolve to the
 * installed packages' `dist` and `.d.ts` as any outside project's would.
 */
function userOptions(): ts.CompilerOptions {
  return {
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2023.d.ts"],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noUncheckedIndexedAccess: true,
    verbatimModuleSyntax: true,
    isolatedModules: true,
    skipLibCheck: false,
    noEmit: true,
    types: ["node"],
    // Node's types from this tool's own dependencies: the blank project installs only what it tests.
    typeRoots: [join(import.meta.dirname, "..", "node_modules", "@types")],
  };
}

/**
 * Type-checks `files` (examples written into the blank project) against the
 * packages installed there, and also the installed declarations that `isOurs`
 * accepts (ours, not third parties'). Returns one line per problem, empty when clean.
 */
export function typeCheck(files: readonly string[], isOurs: (path: string) => boolean): string[] {
  const program = ts.createProgram(files, userOptions());
  const problems: string[] = [];
  const report = (diagnostic: ts.Diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, " ");
    if (!diagnostic.file) return problems.push(`(tsc) ${message}`);
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(
      diagnostic.start ?? 0,
    );
    problems.push(`${diagnostic.file.fileName}:${line + 1}:${character + 1} ${message}`);
  };
  program.getOptionsDiagnostics().forEach(report);
  program.getGlobalDiagnostics().forEach(report);
  for (const source of program.getSourceFiles())
    if (files.includes(source.fileName) || isOurs(source.fileName)) {
      // Per file, syntax and types both: tsc skips type errors once any file has a syntax error.
      program.getSyntacticDiagnostics(source).forEach(report);
      program.getSemanticDiagnostics(source).forEach(report);
    }
  return problems;
}

/** The example as JavaScript that Node 20 runs (types stripped, nothing else changed). */
export function toJavaScript(code: string): string {
  const output = ts.transpileModule(code, {
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      verbatimModuleSyntax: true,
    },
    reportDiagnostics: true,
  });
  const errors = (output.diagnostics ?? []).map((diagnostic) =>
    ts.flattenDiagnosticMessageText(diagnostic.messageText, " "),
  );
  if (errors.length > 0) throw new Error(`cannot strip the types: ${errors.join("; ")}`);
  return output.outputText;
}
