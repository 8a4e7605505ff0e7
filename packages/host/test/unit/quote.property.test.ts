/**
 * `quoteCommand` against random words: every word a process can receive (no
 * NUL, well-formed) is read back byte for byte by real shells (dash, bash in a
 * UTF-8 locale, busybox sh, /bin/sh), whatever it holds (quotes, backslashes,
 * newlines, `$`, backquotes, globs, any Unicode); at the byte level the quoting
 * also carries bytes that are not UTF-8 unchanged; everything else (a NUL, a
 * lone surrogate, a non-string) is refused with a coded `ERR_INVALID_ARGUMENT`
 * naming the word, never another error. Bounded: each property stops after a
 * few seconds; a failure prints the counterexample and its seed.
 */
import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { InvalidArgumentError, QemuKvmError, quoteCommand } from "../../src/index.js";
import { badWord, terminated, words } from "../helpers/quoting-arbitraries.js";

/** Each property: at most this many runs, and stopped after this long. */
const PURE = { numRuns: 2000, interruptAfterTimeLimit: 3000, seed: 1302 };
const SHELL = { numRuns: 80, interruptAfterTimeLimit: 4000, seed: 1302 };

/** The shells a remote login shell may be; `env` for bash: a UTF-8 locale, where bytes form characters. */
const SHELLS = [
  { name: "dash", argv: ["dash"], env: {} },
  { name: "bash (C.UTF-8)", argv: ["bash"], env: { LC_ALL: "C.UTF-8" } },
  { name: "busybox sh", argv: ["busybox", "sh"], env: {} },
  { name: "/bin/sh", argv: ["/bin/sh"], env: {} },
].filter(({ argv }) => {
  try {
    execFileSync(argv[0]!, [...argv.slice(1), "-c", "true"]);
    return true;
  } catch {
    return false;
  }
});

/** A POSIX shell's reading of what `quoteCommand` writes: single-quoted spans, `\'` between them. */
function readBack(command: string): string[] {
  const result: string[] = [];
  let current: string | undefined;
  for (let index = 0; index < command.length; index++) {
    const char = command[index];
    if (char === " ") {
      if (current !== undefined) result.push(current);
      current = undefined;
    } else if (char === "'") {
      const end = command.indexOf("'", index + 1);
      if (end < 0) throw new Error(`unterminated quote at ${index}`);
      current = (current ?? "") + command.slice(index + 1, end);
      index = end;
    } else if (char === "\\") {
      current = (current ?? "") + command[++index];
    } else throw new Error(`unquoted ${JSON.stringify(char)} at ${index}`);
  }
  if (current !== undefined) result.push(current);
  return result;
}

/** Runs `script` (bytes, on stdin: not limited to UTF-8, as `-c` from Node would be) in `shell`. */
function runScript(shell: (typeof SHELLS)[number], script: Buffer): Buffer {
  const [file, ...args] = shell.argv as [string, ...string[]];
  return execFileSync(file, [...args, "-s"], {
    input: script,
    env: { PATH: process.env.PATH, ...shell.env },
  });
}

/** The error `quoteCommand(argv)` throws, or `undefined`. */
function thrown(argv: unknown[]): unknown {
  try {
    quoteCommand(argv as string[]);
    return undefined;
  } catch (error) {
    return error;
  }
}

describe("quoteCommand, property-based", () => {
  test("every word is single-quoted, and a POSIX reading gives the words back", () => {
    fc.assert(
      fc.property(words, (argv) => {
        const command = quoteCommand(argv);
        expect(readBack(command)).toEqual(argv);
        // Nothing outside quotes but the separating spaces and escaped quotes.
        expect(command.replace(/'[^']*'|\\'| /g, "")).toBe("");
      }),
      PURE,
    );
  });

  test("a NUL, a lone surrogate or a non-string is ERR_INVALID_ARGUMENT naming the word, never another error", () => {
    fc.assert(
      fc.property(words, badWord, fc.nat(), (argv, value, at) => {
        const index = at % (argv.length + 1);
        const mixed: unknown[] = [...argv];
        mixed.splice(index, 0, value);
        const error = thrown(mixed);
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect(QemuKvmError.isInstance(error)).toBe(true);
        expect(error).toMatchObject({ code: "ERR_INVALID_ARGUMENT", field: `argv[${index}]` });
      }),
      PURE,
    );
  });

  test.each(SHELLS.map((shell) => [shell.name, shell] as const))(
    "%s reads the quoted words back byte for byte (printf, NUL-terminated)",
    (_name, shell) => {
      fc.assert(
        fc.property(words, (argv) => {
          const script = Buffer.from(`printf '%s\\0' ${quoteCommand(["", ...argv])}\n`);
          const expected = terminated(["", ...argv].map((each) => Buffer.from(each, "utf8")));
          expect(runScript(shell, script)).toEqual(expected);
        }),
        SHELL,
      );
    },
  );

  test.each(SHELLS.map((shell) => [shell.name, shell] as const))(
    "%s: the quoting carries bytes that are not UTF-8 unchanged too",
    (_name, shell) => {
      // Any bytes but NUL, quoted as the same rule does on bytes (one char per byte: latin1).
      const bytes = fc.uint8Array({ min: 1, max: 255, maxLength: 30 }).map(Buffer.from);
      const hostileBytes = fc
        .array(fc.constantFrom(0x27, 0x5c, 0x24, 0x60, 0x0a, 0x22, 0x80, 0xc3, 0xe2, 0xff, 0xfe), {
          maxLength: 30,
        })
        .map((values) => Buffer.from(values));
      fc.assert(
        fc.property(fc.array(fc.oneof(bytes, hostileBytes), { maxLength: 8 }), (argv) => {
          const quoted = quoteCommand(["", ...argv.map((each) => each.toString("latin1"))]);
          const script = Buffer.concat([
            Buffer.from("printf '%s\\0' "),
            Buffer.from(quoted, "latin1"),
            Buffer.from("\n"),
          ]);
          expect(runScript(shell, script)).toEqual(terminated([Buffer.alloc(0), ...argv]));
        }),
        SHELL,
      );
    },
  );
});
