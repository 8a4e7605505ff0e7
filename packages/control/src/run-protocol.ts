/**
 * How the serial console runs a command in the guest's shell and gets back its
 * exact output and exit status, whatever else the terminal shows.
 *
 * At login the console defines one shell function, `__qk`, that prints a
 * finished command's status and output between markers. Then one short input
 * line per command (the "run line") does it all:
 *
 *     rm -f PREVIOUS; { eval 'COMMAND'; } >FILE 2>&1 </dev/null; __qk_rc=$?; __qk TOKEN FILE MAX
 *
 * - The command runs in the login shell itself (`cd`, variables, functions
 *   persist), stdin from /dev/null (it cannot swallow later input), stdout and
 *   stderr into FILE, in order. FILE is new for every run and removed by the
 *   next one (a daemon the command left running writes to a deleted file, never
 *   into a later command's output).
 * - `__qk` prints `QKS:TOKEN:STATUS`, the output size, its MD5 and the output in
 *   base64, then `QKE:TOKEN`. The markers are assembled by printf from separate
 *   words, so the terminal's echo of the line never contains them; TOKEN is
 *   random for every run, so no output can forge them.
 * - Prompt-like text, `login:`, fake markers, a 0xFF byte or binary junk in the
 *   output are just bytes in base64. A kernel message printed on the console in
 *   the middle (at any byte) is cut out by its `[ seconds.micros] ` header;
 *   anything else that damages the transfer fails the size/MD5 check, and
 *   `__qk` sends it again from FILE (kept until the next run).
 * - The echo costs about 0.2 ms per character on a TCG guest, hence the
 *   function rather than the whole script on every line.
 */

import { createHash } from "node:crypto";
import {
  type FilteredText,
  filterKernelMessages,
  rawIndex,
  stripTerminalEscapes,
} from "./console-text.js";

/** Longest run line we type: busybox's line editor takes at most 1023 characters. */
export const MAX_LINE_CHARS = 900;
/** Longest piece of a long command per line (before quoting). */
const CHUNK_CHARS = 400;

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** `text` as one single-quoted shell word (`'` written `'\''`). */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** A path the run line uses unquoted: absolute, made of safe characters. */
export function checkScratchPath(path: string): void {
  if (!/^\/[A-Za-z0-9._/-]*$/.test(path) || path.includes("//") || path.length > 200)
    throw new TypeError(
      `scratchDirectory must be an absolute path of letters, digits, '.', '_', '-' and '/', got ${JSON.stringify(path)}`,
    );
}

export interface CommandDelivery {
  /** Lines to type first, one at a time, each acknowledged (empty for short commands). */
  preludes: string[];
  /** The shell words that run the command, e.g. `eval 'ls -l'`. */
  evalWords: string;
}

/**
 * How to get `command` into the shell intact. Short printable ASCII: inline,
 * single-quoted. Long: assembled in `__qk_c` by several lines. With control
 * characters (newline, tab: the line editor would act on them) or non-ASCII:
 * base64 of its UTF-8 bytes in `__qk_c`, decoded by the guest's `base64 -d`.
 */
export function deliverCommand(command: string): CommandDelivery {
  if (command.includes("\0")) throw new TypeError("a command must not contain NUL");
  if (PRINTABLE_ASCII.test(command)) {
    const quoted = shellQuote(command);
    if (quoted.length <= CHUNK_CHARS) return { preludes: [], evalWords: `eval ${quoted}` };
    return { preludes: assemble(quotedChunks(command, CHUNK_CHARS)), evalWords: `eval "$__qk_c"` };
  }
  const encoded = Buffer.from(command, "utf8").toString("base64");
  return {
    preludes: assemble(chunks(encoded, CHUNK_CHARS).map((piece) => `'${piece}'`)),
    evalWords: `eval "$(printf '%s' "$__qk_c" | base64 -d)"`,
  };
}

function chunks(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let offset = 0; offset < text.length; offset += size)
    pieces.push(text.slice(offset, offset + size));
  return pieces;
}

/** `text` cut into pieces whose quoted form (`'` costs 4 characters) fits in `size`. */
function quotedChunks(text: string, size: number): string[] {
  const pieces: string[] = [];
  let start = 0;
  let cost = 2;
  for (let index = 0; index < text.length; index++) {
    const charCost = text[index] === "'" ? 4 : 1;
    if (cost + charCost > size) {
      pieces.push(shellQuote(text.slice(start, index)));
      start = index;
      cost = 2;
    }
    cost += charCost;
  }
  pieces.push(shellQuote(text.slice(start)));
  return pieces;
}

function assemble(quotedPieces: string[]): string[] {
  return quotedPieces.map((piece, index) =>
    index === 0 ? `__qk_c=${piece}` : `__qk_c="$__qk_c"${piece}`,
  );
}

/** The function the run lines call; defined at login (and again if the shell lost it). */
export const TRANSFER_FUNCTION =
  '__qk() { unset __qk_c; printf \'%s:%s:%s\\n\' QKS "$1" "$__qk_rc"; ' +
  '[ -e "$2" ] || printf \'%s:%s\\n\' QKN "$1"; ' +
  'if [ -s "$2" ]; then set -- "$1" "$2" "$3" $(wc -c <"$2"); echo "$4"; ' +
  'if [ "$4" -le "$3" ]; then md5sum <"$2"; base64 "$2"; ' +
  'else head -c "$3" "$2" | md5sum; head -c "$3" "$2" | base64; fi; fi; ' +
  "printf '%s:%s\\n' QKE \"$1\"; }";

export interface RunLineInput {
  evalWords: string;
  token: string;
  file: string;
  /** The previous run's output file, removed now. */
  previousFile: string | undefined;
  maxOutputBytes: number;
}

/** The run line (without its final newline). */
export function runLine(input: RunLineInput): string {
  const { evalWords, token, file, previousFile } = input;
  const remove = previousFile ? `rm -f ${previousFile}; ` : "";
  return `${remove}{ ${evalWords}; } >${file} 2>&1 </dev/null; __qk_rc=$?; ${transferScript(token, file, input.maxOutputBytes)}`;
}

/** Sends the output of the last run (again): its file and `$__qk_rc` are still there. */
export function transferScript(token: string, file: string, maxOutputBytes: number): string {
  return `__qk ${token} ${file} ${maxOutputBytes}`;
}

/** A line that prints `QKR:TOKEN`: proof that a shell reads and runs our input. */
export function syncLine(token: string): string {
  return `printf '%s:%s\\n' QKR ${token}`;
}

function syncMarker(token: string): string {
  return `QKR:${token}`;
}

/** What the parser made of one transfer. */
export type RunTransfer =
  | {
      kind: "output";
      exitCode: number;
      output: Buffer;
      truncated: boolean;
    }
  | { kind: "lost"; exitCode: number }
  | {
      kind: "corrupt";
      /** From the start marker, when it came through. */
      exitCode: number | undefined;
      reason: string;
    };

/** Thrown by the parser when a login prompt shows up instead of the markers. */
export class LoggedOutSignal extends Error {}

/** Thrown by the parser when the shell says `__qk` is not found (it is another shell now). */
export class MissingFunctionSignal extends Error {}

const MAX_PARTIAL_CHARS = 64 * 1024;
const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Splits console text into lines, kernel messages cut out, across chunks. Text
 * that may still be part of a kernel message is left unconsumed until the rest
 * arrives; a line that completes is handed over at once.
 */
class CleanLines {
  readonly #filter: boolean;
  readonly #onKernelMessage: ((message: string) => void) | undefined;
  #partial = "";

  constructor(filter: boolean, onKernelMessage?: (message: string) => void) {
    this.#filter = filter;
    this.#onKernelMessage = onKernelMessage;
  }

  /**
   * Feeds `text` (the unconsumed buffer). Calls `onLine` for each complete line
   * (without its CR LF) until it returns a value; then `consume` ends right after
   * that line, so what follows stays for the next reader.
   *
   * The unfinished line at the end is consumed and remembered (only its last 1 024
   * characters once it is longer than `MAX_PARTIAL_CHARS`), unless `keepPartial`:
   * then it stays in the buffer (and is read again with what follows), so that a
   * reader who gives up on it (a login prompt where a marker was due) leaves it
   * whole for the next one. `keepPartial` holds for a line that starts in `text`
   * (not in what was remembered before) and is shorter than `MAX_PARTIAL_CHARS`.
   * `tail` is that unfinished line, whole, kernel messages cut out.
   */
  feed<T>(
    text: string,
    onLine: (line: string) => T | undefined,
    keepPartial = false,
  ): { consume: number; value?: T; tail: string } {
    const filtered: FilteredText = this.#filter
      ? filterKernelMessages(text)
      : { clean: text, final: text.length, messages: [], ranges: [] };
    const base = this.#partial.length;
    const combined = this.#partial + filtered.clean;
    let from = 0;
    let newline = combined.indexOf("\n");
    let result: { consume: number; value?: T; tail: string } | undefined;
    while (newline !== -1) {
      const raw = combined.slice(from, newline);
      const value = onLine(raw.endsWith("\r") ? raw.slice(0, -1) : raw);
      if (value !== undefined) {
        this.#partial = "";
        result = { consume: rawIndex(filtered, newline + 1 - base), value, tail: "" };
        break;
      }
      from = newline + 1;
      newline = combined.indexOf("\n", from);
    }
    if (!result) {
      const partial = combined.slice(from);
      if (keepPartial && from >= base && partial.length <= MAX_PARTIAL_CHARS) {
        this.#partial = "";
        result = { consume: rawIndex(filtered, from - base), tail: partial };
      } else {
        this.#partial = partial.length > MAX_PARTIAL_CHARS ? partial.slice(-1_024) : partial;
        result = { consume: filtered.final, tail: partial };
      }
    }
    // Each kernel message once: those in the text consumed (the rest is read again).
    filtered.messages.forEach((message, index) => {
      if ((filtered.ranges[index]?.[0] ?? 0) < result.consume) this.#onKernelMessage?.(message);
    });
    return result;
  }
}

export interface RunParserOptions {
  token: string;
  maxOutputBytes: number;
  filterKernelMessages: boolean;
  /** A login prompt at the end of the text: the shell has exited. */
  loginPrompt: RegExp;
  /** Each kernel message removed (for the debug log). */
  onKernelMessage?: (message: string) => void;
}

/**
 * A matcher (see `ExpectBuffer`) for the markers and output of one run line or
 * transfer. Consumes text as it goes; done after the end marker's line.
 * Throws `LoggedOutSignal` when a login prompt shows instead of the start marker.
 */
export function runParser(options: RunParserOptions) {
  const start = `QKS:${options.token}:`;
  const lost = `QKN:${options.token}`;
  const end = `QKE:${options.token}`;
  // The terminal's echo of the typed line ends with these words.
  const echoEnd = `__qk ${options.token}`;
  const lines = new CleanLines(options.filterKernelMessages, options.onKernelMessage);
  let echoed = false;
  let started = false;
  let exitCode: number | undefined;
  let fileLost = false;
  let corrupt: string | undefined;
  const data: string[] = [];
  let dataChars = 0;
  const dataLimit = Math.ceil((options.maxOutputBytes * 4) / 3) * (78 / 76) + 1_024;

  const markCorrupt = (reason: string) => {
    corrupt ??= reason;
  };

  const finish = (): RunTransfer => {
    if (exitCode === undefined)
      return { kind: "corrupt", exitCode: undefined, reason: corrupt ?? "no start marker" };
    if (fileLost) return { kind: "lost", exitCode };
    if (corrupt) return { kind: "corrupt", exitCode, reason: corrupt };
    return decode(exitCode, data, options.maxOutputBytes);
  };

  const onLine = (text: string): RunTransfer | undefined => {
    if (text.includes(end)) {
      if (text !== end) markCorrupt("junk on the end marker's line");
      if (!started) markCorrupt("the start marker did not come through");
      return finish();
    }
    if (!started) {
      if (text.includes(echoEnd)) echoed = true;
      else if (echoed && /__qk: (command )?not found/.test(text)) throw new MissingFunctionSignal();
      const at = text.indexOf(start);
      if (at === -1) return undefined; // the echo, job notices, a prompt: not ours
      started = true;
      const status = text.slice(at + start.length);
      if (/^\d{1,3}$/.test(status)) exitCode = Number(status);
      else markCorrupt(`damaged start marker: ${JSON.stringify(text.slice(at))}`);
      return undefined;
    }
    if (text === lost) {
      fileLost = true;
      return undefined;
    }
    if (corrupt) return undefined; // read on to the end marker; the output is sent again
    dataChars += text.length;
    if (dataChars > dataLimit) {
      markCorrupt("more data than the output limit allows");
      return undefined;
    }
    data.push(text);
    return undefined;
  };

  return (text: string): { consume: number; done: boolean; value?: RunTransfer } => {
    // Before the start marker, the unfinished line stays in the buffer: if it is a login
    // prompt, the shell has gone and the prompt is for whoever reads next.
    const { consume, value, tail: partial } = lines.feed(text, onLine, !started);
    if (value) return { consume, done: true, value };
    // A login prompt on a line of its own after the echo of our line: the shell exited.
    // (Before the echo is complete, prompt-like text may be the command's own words.)
    if (!started && echoed && options.loginPrompt.test(stripTerminalEscapes(partial)))
      throw new LoggedOutSignal();
    if (started && partial.length > MAX_PARTIAL_CHARS)
      markCorrupt("a line too long to be base64 output");
    return { consume, done: false };
  };
}

function decode(exitCode: number, lines: string[], maxOutputBytes: number): RunTransfer {
  if (lines.length === 0)
    return { kind: "output", exitCode, output: Buffer.alloc(0), truncated: false };
  const [sizeLine, digestLine, ...encoded] = lines;
  const corrupt = (reason: string): RunTransfer => ({ kind: "corrupt", exitCode, reason });
  if (!sizeLine || !/^ *\d+ *$/.test(sizeLine))
    return corrupt(`bad size line ${JSON.stringify(sizeLine)}`);
  const totalBytes = Number(sizeLine.trim());
  const digest = /^([0-9a-f]{32})\s/.exec(digestLine ?? "")?.[1];
  if (!digest) return corrupt(`bad MD5 line ${JSON.stringify(digestLine)}`);
  for (const [index, text] of encoded.entries()) {
    const last = index === encoded.length - 1;
    if (
      !BASE64_LINE.test(text) ||
      text.length % 4 !== 0 ||
      text.length > 76 ||
      (!last && text.length !== 76)
    )
      return corrupt(`bad base64 line ${index + 1}: ${JSON.stringify(text.slice(0, 100))}`);
  }
  const output = Buffer.from(encoded.join(""), "base64");
  const expected = Math.min(totalBytes, maxOutputBytes);
  if (output.length !== expected)
    return corrupt(`${output.length} bytes decoded, ${expected} announced`);
  if (createHash("md5").update(output).digest("hex") !== digest) return corrupt("MD5 mismatch");
  return { kind: "output", exitCode, output, truncated: totalBytes > maxOutputBytes };
}

/**
 * A matcher for a sync marker `QKR:TOKEN` (any of `tokens`), kernel messages
 * cut out: done after the marker's line, which it consumes with all before it.
 */
export function syncParser(tokens: readonly string[], filterKernel: boolean) {
  const markers = tokens.map(syncMarker);
  const lines = new CleanLines(filterKernel);
  return (text: string): { consume: number; done: boolean; value?: string } => {
    const { consume, value } = lines.feed(text, (line) =>
      markers.find((marker) => line.includes(marker)),
    );
    return { consume, done: value !== undefined, value };
  };
}
