import { expect, test } from "vitest";
import { toJavaScript, typescriptBlocks } from "../../src/readme-examples.js";

test("the TypeScript blocks of a README are found with their line, and nothing else", () => {
  const markdown = [
    "# pkg", //                 1
    "```sh", //                 2
    "pnpm add pkg", //          3
    "```", //                   4
    "```ts", //                 5
    "const a = 1;", //          6
    "```", //                   7
    "```text", //               8
    "f(x: string): void", //    9
    "```", //                  10
    "- a list item:", //       11
    "  ````typescript", //     12
    "  const b = `", //        13
    "  ```", //                14
    "  `;", //                 15
    "  ````", //               16
  ].join("\n");
  expect(typescriptBlocks(markdown)).toEqual([
    { line: 6, code: "const a = 1;" },
    { line: 13, code: "const b = `\n```\n`;" },
  ]);
});

test("an example is run as written, with only its types removed", () => {
  const js = toJavaScript(
    [
      'import { type Spec, build } from "pkg";',
      'import type { Other } from "pkg";',
      'const spec: Spec = { name: "demo" } satisfies Other;',
      "console.log(build(spec)!);",
    ].join("\n"),
  );
  expect(js).toBe(
    [
      'import { build } from "pkg";',
      'const spec = { name: "demo" };',
      "console.log(build(spec));",
      "",
    ].join("\n"),
  );
});

test("an example that is not TypeScript is refused, not run half-stripped", () => {
  expect(() => toJavaScript("const a: = ;")).toThrow(/cannot strip the types/);
});
