import { execFileSync } from "node:child_process";
import { buildCommand, formatCommandLine, quoteShellWord } from "@qemu-kvm/bootline";
import { describe, expect, test } from "vitest";
import { invalidArgument } from "../helpers/spec.js";

const hostile = [
  "plain",
  "",
  "with space",
  "it's",
  "'",
  "''",
  '"double"',
  "$(touch /tmp/pwned)",
  "`id`",
  "$HOME",
  "a;b&c|d>e<f",
  "new\nline",
  "tab\there",
  "\r\n\u001b[31mred\u001b[0m",
  "back\\slash",
  "\\'",
  "glob*?[a]",
  "~root",
  "#comment",
  "{a,b}",
  "!event",
  "a=b",
  "=ls",
  "-x",
  "ünïcödé ✓",
  "c1\u0085control\u2028sep",
  "file=/img/a,,b c.img,format=raw",
];

/** What bash makes of a command line: each word as printed by printf, NUL-separated. */
function throughBash(words: readonly string[]): string[] {
  const line = formatCommandLine("printf", ["%s\\0", ...words]);
  const output = execFileSync("bash", ["-c", line], { encoding: "utf8" });
  return output.split("\0").slice(0, -1);
}

describe("formatCommandLine", () => {
  test("leaves safe words bare and quotes the rest", () => {
    expect(
      formatCommandLine("qemu-system-x86_64", [
        "-name",
        "vm0",
        "-drive",
        "file=/a,,b.img,if=virtio",
      ]),
    ).toBe("qemu-system-x86_64 -name vm0 -drive file=/a,,b.img,if=virtio");
    expect(quoteShellWord("with space")).toBe("'with space'");
    expect(quoteShellWord("it's")).toBe("'it'\\''s'");
    expect(quoteShellWord("$(id)")).toBe("'$(id)'");
    expect(quoteShellWord("")).toBe("''");
  });

  test("keeps the line on one line: control characters use $'…'", () => {
    expect(quoteShellWord("a\nb")).toBe("$'a\\nb'");
    expect(quoteShellWord("it's\t\\")).toBe("$'it\\'s\\t\\\\'");
    expect(quoteShellWord("\u001b")).toBe("$'\\x1b'");
    expect(quoteShellWord("\u0085")).toBe("$'\\xc2\\x85'");
    expect(formatCommandLine("echo", hostile)).not.toMatch(/[\n\r]/);
  });

  test("a program name with '=' is quoted (it would be an assignment)", () => {
    expect(formatCommandLine("A=b", [])).toBe("'A=b'");
    expect(formatCommandLine("qemu", ["A=b"])).toBe("qemu A=b");
    expect(formatCommandLine("qemu", ["=ls"])).toBe("qemu '=ls'"); // zsh would expand =ls
  });

  test("bash reads back exactly the words, whatever they hold", () => {
    expect(throughBash(hostile)).toEqual(hostile);
  });

  test("a built command line pasted into bash gives the same argv", () => {
    const command = buildCommand({
      name: "vm0",
      emulator: "/opt/qemu $(x)/qemu-system-x86_64",
      drives: [{ path: '/img/it\'s a "disk", really\n.img' }],
      kernel: { path: "/k", append: "console=ttyS0,115200 init=/bin/sh 'x'" },
      cpu: { hostCpus: [1, 2] },
    });
    expect(throughBash([command.file, ...command.args])).toEqual([command.file, ...command.args]);
  });

  test("rejects a NUL byte, which no argument can carry", () => {
    invalidArgument(() => quoteShellWord("a\u0000b"), "word");
    invalidArgument(() => formatCommandLine("qemu", ["-name", "a\u0000"]), "args[1]");
    invalidArgument(() => formatCommandLine("qemu\u0000", []), "file");
  });
});
