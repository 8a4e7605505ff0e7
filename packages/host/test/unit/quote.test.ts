import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "@qemu-kvm/testkit/fixtures";
import { describe, expect } from "vitest";
import { quoteCommand } from "../../src/index.js";
import { checkCommand } from "../../src/shared/arguments.js";
import { hostileArguments } from "../helpers/hostile-arguments.js";

// The shells a remote login shell may be: each must read the quoted words back unchanged.
const shells = [
  ["dash", "-c"],
  ["bash", "-c"],
  ["busybox", "sh", "-c"],
  ["sh", "-c"],
].filter(([shell]) => {
  try {
    execFileSync(shell!, shell === "busybox" ? ["true"] : ["-c", "true"]);
    return true;
  } catch {
    return false;
  }
});

/** Runs `command` (one string, as SSH carries it) in `shell` and returns the argv it ran. */
function argvThrough(shell: string[], words: string[]): string[] {
  const command = quoteCommand([
    process.execPath,
    "-e",
    "process.stdout.write(JSON.stringify(process.argv.slice(1)))",
    ...words,
  ]);
  const [file, ...args] = shell as [string, ...string[]];
  return JSON.parse(execFileSync(file, [...args, command], { encoding: "utf8" }));
}

describe("quoteCommand, the one function that turns argv into shell text", () => {
  test("wraps every word in single quotes, with ' written as '\\''", () => {
    expect(quoteCommand(["a", "", "it's", "$x"])).toBe(`'a' '' 'it'\\''s' '$x'`);
  });

  test.for(shells.map((shell) => [shell.join(" "), shell] as const))(
    "%s reads hostile words back unchanged and executes none of them",
    ([_name, shell], { tempDir }) => {
      const marker = join(tempDir.path, `executed-${shell[0]}`);
      const words = hostileArguments(marker);
      expect(argvThrough(shell, words)).toEqual(words);
      expect(existsSync(marker)).toBe(false);
    },
  );

  test.each(shells.map((shell) => [shell.join(" "), shell] as const))(
    "%s: every single character from 1 to 255 and a long random mix arrive unchanged",
    (_name, shell) => {
      const singles = Array.from({ length: 255 }, (_, index) => String.fromCharCode(index + 1));
      expect(argvThrough(shell, singles)).toEqual(singles);
      let random = "";
      for (let index = 0; index < 2000; index++)
        random += String.fromCharCode(1 + ((index * 7919) % 254));
      expect(argvThrough(shell, [random, `'${random}'`, `"${random}"`])).toEqual([
        random,
        `'${random}'`,
        `"${random}"`,
      ]);
    },
  );

  test("refuses NUL, lone surrogates and non-strings with ERR_INVALID_ARGUMENT", () => {
    expect(() => quoteCommand(["ok", "a\0b"])).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "argv[1]" }),
    );
    expect(() => quoteCommand(["\uDC00"])).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT" }),
    );
    expect(() => quoteCommand(["a\uD83D"])).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT" }),
    );
    expect(() => quoteCommand([42 as unknown as string])).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT" }),
    );
    expect(quoteCommand(["🙂"])).toBe("'🙂'");
  });
});

describe("checkCommand", () => {
  test("validates file, args, cwd and environment names before anything runs", () => {
    expect(checkCommand("ls", ["-l"], { env: { PATH: "/bin", GONE: undefined, _x1: "" } })).toEqual(
      ["ls", "-l"],
    );
    expect(() => checkCommand("", [])).toThrow(expect.objectContaining({ field: "file" }));
    expect(() => checkCommand("ls", "a" as unknown as string[])).toThrow(
      expect.objectContaining({ field: "args" }),
    );
    expect(() => checkCommand("ls", [], { cwd: "" })).toThrow(
      expect.objectContaining({ field: "cwd" }),
    );
    for (const name of ["", "1X", "A-B", "A=B", "A B", "é"])
      expect(() => checkCommand("ls", [], { env: { [name]: "x" } })).toThrow(
        expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: `env.${name}` }),
      );
  });

  test("an environment value is never shown in the message (it may be a password)", () => {
    const error = (() => {
      try {
        checkCommand("ls", [], { env: { TOKEN: "hunter2\0" } });
      } catch (caught) {
        return caught as Error;
      }
    })();
    expect(error).toMatchObject({ code: "ERR_INVALID_ARGUMENT", field: "env.TOKEN" });
    expect(error?.message).toMatch(/NUL/);
    expect(error?.message).not.toContain("hunter2");
  });
});
