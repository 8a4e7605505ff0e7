/** Code blocks of a Markdown text, as the README checks (api-check, release-check) read them. */

/** One ```ts block: where its code starts in the text, and the code, indentation removed. */
export interface MarkdownCodeBlock {
  /** 1-based line of the block's first line of code. */
  line: number;
  code: string;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/;

/** The ```ts (or ```typescript) blocks of a Markdown text, in order, as written. */
export function typescriptBlocks(markdown: string): MarkdownCodeBlock[] {
  const blocks: MarkdownCodeBlock[] = [];
  const lines = markdown.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const open = FENCE.exec(lines[index]!);
    if (!open) continue;
    const [, indent, fence, language] = open;
    const start = index + 1;
    let end = start;
    while (end < lines.length && !lines[end]!.trimStart().startsWith(fence!)) end++;
    if (language === "ts" || language === "typescript")
      blocks.push({
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
