import { InvalidArgumentError } from "@qemu-kvm/core";
import { checkString, checkStringArray } from "../arguments.js";

/** Characters that mean nothing to a POSIX shell inside a word. */
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;
/** C0 and C1 control characters, DEL, and the Unicode line and paragraph separators. */
const NEEDS_ANSI_C = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** UTF-8 bytes of a code point below U+10000 (all that `NEEDS_ANSI_C` matches). */
function utf8(code: number): number[] {
  if (code < 0x80) return [code];
  if (code < 0x800) return [0xc0 | (code >> 6), 0x80 | (code & 0x3f)];
  return [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)];
}

function ansiC(word: string): string {
  let out = "$'";
  for (const char of word) {
    const code = char.codePointAt(0)!;
    if (char === "\\") out += "\\\\";
    else if (char === "'") out += "\\'";
    else if (char === "\n") out += "\\n";
    else if (char === "\t") out += "\\t";
    else if (char === "\r") out += "\\r";
    else if (NEEDS_ANSI_C.test(char)) {
      // As UTF-8 bytes, so the shell rebuilds exactly the same string.
      out += utf8(code)
        .map((byte) => `\\x${byte.toString(16).padStart(2, "0")}`)
        .join("");
    } else out += char;
  }
  return `${out}'`;
}

/**
 * Quotes one word for a POSIX shell: bare when safe, else in single quotes. A word
 * with control characters (newline, tab, escape…) is written as bash's `$'…'`, so
 * the line stays one line and shows what is there. Throws `ERR_INVALID_ARGUMENT`
 * for a NUL byte, which no process argument can carry.
 */
export function quoteShellWord(word: string): string {
  checkString(word, "word");
  return quote(word, false, "word");
}

function quote(word: string, first: boolean, field: string): string {
  if (word.includes("\0"))
    throw new InvalidArgumentError(field, "a string without NUL bytes", word, {
      problem: "contains a NUL byte, which no process argument can carry",
    });
  if (word === "") return "''";
  // A first word with `=` would be a variable assignment, and zsh expands a word
  // starting with `=` (`=ls` → /bin/ls): quote those.
  if (SAFE_WORD.test(word) && !word.startsWith("=") && !(first && word.includes("="))) return word;
  if (NEEDS_ANSI_C.test(word)) return ansiC(word);
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Renders a program and its argv as one shell-quoted line, for logs and for people
 * to copy and paste (bash, zsh, ksh; plain POSIX sh too unless a word holds control
 * characters). Never pass the result to a shell from code: run `file` with `args`.
 * Throws `ERR_INVALID_ARGUMENT` for a NUL byte, naming the argument (`args[3]`).
 */
export function formatCommandLine(file: string, args: readonly string[]): string {
  checkString(file, "file");
  checkStringArray(args, "args");
  return [
    quote(file, true, "file"),
    ...args.map((arg, index) => quote(arg, false, `args[${index}]`)),
  ].join(" ");
}
