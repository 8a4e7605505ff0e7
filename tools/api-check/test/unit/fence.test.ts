import { expect, test } from "vitest";
import { typescriptBlocks } from "../../src/readme-blocks.js";

test("finds ts and typescript blocks with their line, skips other languages and nested fences", () => {
  const text = [
    "# title", // 1
    "```ts", // 2
    "const a = 1;", // 3
    "```", // 4
    "```sh", // 5
    "echo hi", // 6
    "```", // 7
    "- item", // 8
    "  ```typescript", // 9
    "  const b: number = 2;", // 10
    "  ```", // 11
    "````md", // 12
    "```ts", // 13
    "not code", // 14
    "```", // 15
    "````", // 16
  ].join("\n");
  expect(typescriptBlocks("R.md", text)).toEqual([
    { readme: "R.md", line: 3, code: "const a = 1;" },
    { readme: "R.md", line: 10, code: "const b: number = 2;" },
  ]);
});
