import { HostQuoteError } from "./errors.js";

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
 * Refused (throws `ERR_HOST_QUOTE`): a NUL byte (a C string ends there: no process
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

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Throws `ERR_HOST_QUOTE` unless `value` is a string a process can receive unchanged. */
export function checkValue(value: unknown, field: string): asserts value is string {
  if (typeof value !== "string")
    throw new HostQuoteError(field, `is not a string (${typeof value})`);
  if (value.includes("\0"))
    throw new HostQuoteError(field, "contains a NUL byte, which no process can receive");
  if (LONE_SURROGATE.test(value))
    throw new HostQuoteError(
      field,
      "is not well-formed Unicode (a lone surrogate would arrive changed)",
    );
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Validates what `exec`/`spawn` were given, before anything runs (throws `ERR_HOST_QUOTE`). */
export function checkCommand(
  file: unknown,
  args: unknown,
  options: { env?: Readonly<Record<string, string | undefined>>; cwd?: string } = {},
): readonly string[] {
  checkValue(file, "file");
  if (file === "") throw new HostQuoteError("file", "is empty");
  if (!Array.isArray(args)) throw new HostQuoteError("args", "is not an array");
  args.forEach((arg, index) => {
    checkValue(arg, `args[${index}]`);
  });
  if (options.cwd !== undefined) {
    checkValue(options.cwd, "cwd");
    if (options.cwd === "") throw new HostQuoteError("cwd", "is empty");
  }
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (!ENV_NAME.test(name))
      throw new HostQuoteError(`env.${name}`, "is not a valid variable name");
    if (value !== undefined) checkValue(value, `env.${name}`);
  }
  return [file, ...(args as string[])];
}
