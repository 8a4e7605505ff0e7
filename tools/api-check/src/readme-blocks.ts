import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { typescriptBlocks as markdownBlocks } from "@qemu-kvm/testkit";

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

/** The ```ts (or ```typescript) blocks of a Markdown text, in order, named by their README. */
export function typescriptBlocks(readme: string, text: string): CodeBlock[] {
  return markdownBlocks(text).map((block) => ({ readme, ...block }));
}
