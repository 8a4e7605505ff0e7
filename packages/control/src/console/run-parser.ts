/**
 * Reads what the guest's shell prints for the run protocol (see
 * `run-protocol.ts`): the markers and base64 output of one transfer, or a sync
 * marker, with kernel messages cut out wherever they land.
 */

import { createHash } from "node:crypto";
import { stripTerminalEscapes } from "@qemu-kvm/core";
import { type FilteredText, filterKernelMessages, rawIndex } from "./console-text.js";
import { identityMarker, syncMarker } from "./run-protocol.js";
import { examined } from "./scan-meter.js";

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

/**
 * The longest unfinished line kept whole (our echoed run line is at most about
 * 1 KiB, base64 lines 76 characters). It is read again with each arrival, so
 * it is kept small: a flood without line ends costs its size, not its size
 * times this.
 */
const MAX_PARTIAL_CHARS = 4 * 1024;
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
    examined(text.length + this.#partial.length);
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
  /**
   * The echo of the typed line was read already (a marker the line printed
   * before the transfer came, and was consumed).
   */
  echoed?: boolean;
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
  let echoed = options.echoed ?? false;
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

/**
 * Reads the reply of `identityFileLine`: `{ exitCode, output }` once its marker's
 * line has come (kernel messages cut out when `filterKernel`).
 */
export function identityParser(token: string, filterKernel: boolean) {
  const marker = identityMarker(token);
  const lines = new CleanLines(filterKernel);
  return (
    text: string,
  ): { consume: number; done: boolean; value?: { exitCode: number; output: string } } => {
    const { consume, value } = lines.feed(text, (line) => {
      const at = line.indexOf(marker);
      if (at === -1) return undefined;
      const rest = line.slice(at + marker.length);
      const colon = rest.indexOf(":");
      const exitCode = Number(rest.slice(0, colon));
      return colon > 0 && Number.isInteger(exitCode)
        ? { exitCode, output: rest.slice(colon + 1) }
        : undefined;
    });
    return { consume, done: value !== undefined, value };
  };
}
