import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

/** One TypeScript code block of a README. */
export interface CodeBlock {
  /** The README, relative to the repository root. */
  readme: string;
  /** 1-based line of the block's first line of code. */
  line: number;
  code: string;
}

/** The repository root (this file is tools/api-check/src/). */
export const ROOT = join(import.meta.dirname, "..", "..", "..");

/** Every README of the workspace: the root's and each package's and tool's. */
export function readmes(root = ROOT): string[] {
  const found = [join(root, "README.md")];
  for (const parent of ["packages", "tools"])
    for (const entry of readdirSync(join(root, parent), { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    ))
      if (entry.isDirectory()) {
        const path = join(root, parent, entry.name, "README.md");
        try {
          readFileSync(path);
          found.push(path);
        } catch {}
      }
  return found.map((path) => relative(root, path));
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/;

/** The ```ts (or ```typescript) blocks of a Markdown text, in order. */
export function typescriptBlocks(readme: string, text: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const open = FENCE.exec(lines[index]!);
    if (!open) continue;
    const [, indent, fence, language] = open;
    const start = index + 1;
    let end = start;
    while (end < lines.length && !lines[end]!.trimStart().startsWith(fence!)) end++;
    if (language === "ts" || language === "typescript")
      blocks.push({
        readme,
        line: start + 1,
        code: lines
          .slice(start, end)
          .map((line) => (line.startsWith(indent!) ? line.slice(indent!.length) : line))
          .join("\n"),
      });
    index = end;
  }
  return blocks;
}
