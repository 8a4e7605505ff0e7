import { checkValue } from "./arguments.js";

/**
 * THE quoting function: the only place where argv becomes shell text.
 *
 * SSH carries one command string, which the remote login shell parses. Each word
 * is wrapped in single quotes, inside which a POSIX shell gives no character any
 * meaning (no `$`, backquote, backslash, glob, `;`, newline or space handling);
 * a single quote itself cannot appear inside, so it is written `'\''` (close the
 * quotes, an escaped quote, reopen). Every word is quoted, even a harmless one, and
 * the empty string becomes `''`, so the shell sees exactly `argv.length` words.
 *
 * Refused (throws `ERR_INVALID_ARGUMENT`): a NUL byte (a C string ends there: no process
 * can receive it), a lone UTF-16 surrogate (not encodable as UTF-8: it would
 * arrive changed), and anything that is not a string.
 *
 * The remote login shell must be a POSIX shell (sh, dash, bash, ksh, zsh, busybox
 * ash); csh and fish parse quotes differently.
 */
export function quoteCommand(argv: readonly string[]): string {
  return argv.map((word, index) => quoteWord(word, `argv[${index}]`)).join(" ");
}

function quoteWord(word: unknown, field: string): string {
  checkValue(word, field);
  return `'${(word as string).replaceAll("'", "'\\''")}'`;
}
