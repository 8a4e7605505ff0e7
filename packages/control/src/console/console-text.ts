import { stripTerminalEscapes } from "@qemu-kvm/core";

/**
 * Pure text helpers for a serial console: kernel messages interleaved with
 * other output, and secrets in text shown to people. (Terminal escapes:
 * `stripTerminalEscapes` of `@qemu-kvm/core`.)
 */

export interface FilteredText {
  /** `text.slice(0, final)` with every complete kernel message removed. */
  clean: string;
  /**
   * How many characters of `text` are settled. From `final` on, `text` holds
   * what may be the start of a kernel message still being printed: look at it
   * again once more text has arrived.
   */
  final: number;
  /** The kernel messages removed, in order, each with its line end. */
  messages: string[];
  /** Where they were in `text`: `[start, end)` ranges, in order. */
  ranges: Array<[number, number]>;
}

/** A kernel message longer than this without a line end is not one. */
const MAX_KERNEL_LINE = 4_096;

/**
 * Removes the kernel's console messages from serial console text.
 *
 * The kernel writes a message to the console with the UART's interrupts off, in
 * one piece, wherever the terminal's own output happens to be: between any two
 * bytes of a line, even between the CR and LF of a line end. A message is
 * `[ seconds.micros] text` (optionally with a `[ T123]` caller field) and ends
 * at its line end; that is what is removed, so the text around it joins up
 * again. Messages without a timestamp (`printk.time=0`) cannot be told apart
 * from other output and are left alone.
 */
export function filterKernelMessages(text: string): FilteredText {
  const parts: string[] = [];
  const messages: string[] = [];
  const ranges: Array<[number, number]> = [];
  let position = 0;
  for (;;) {
    const bracket = text.indexOf("[", position);
    if (bracket === -1) {
      parts.push(text.slice(position));
      return { clean: parts.join(""), final: text.length, messages, ranges };
    }
    parts.push(text.slice(position, bracket));
    const header = kernelHeaderEnd(text, bracket);
    if (header === NOT_A_HEADER) {
      parts.push("[");
      position = bracket + 1;
      continue;
    }
    if (header === INCOMPLETE) return { clean: parts.join(""), final: bracket, messages, ranges };
    const newline = text.indexOf("\n", header);
    if (newline === -1) {
      if (text.length - bracket > MAX_KERNEL_LINE) {
        parts.push("[");
        position = bracket + 1;
        continue;
      }
      return { clean: parts.join(""), final: bracket, messages, ranges };
    }
    messages.push(text.slice(bracket, newline + 1));
    ranges.push([bracket, newline + 1]);
    position = newline + 1;
  }
}

/**
 * The position in the raw text of position `cleanIndex` of `filtered.clean`
 * (kernel messages that start at or after it are not counted).
 */
export function rawIndex(filtered: FilteredText, cleanIndex: number): number {
  let raw = cleanIndex;
  for (const [start, end] of filtered.ranges) {
    if (start >= raw) break;
    raw += end - start;
  }
  return raw;
}

const NOT_A_HEADER = -1;
const INCOMPLETE = -2;

/**
 * At `start` (a `[`): the index after a complete `[ 12.345678] ` or
 * `[ 12.345678][ T42] ` header, `INCOMPLETE` if `text` ends inside one, or
 * `NOT_A_HEADER`.
 */
function kernelHeaderEnd(text: string, start: number): number {
  let i = start + 1;
  const end = text.length;
  const isDigit = (index: number) => {
    const code = text.charCodeAt(index);
    return code >= 48 && code <= 57;
  };
  while (i < end && text[i] === " ") i++;
  const secondsStart = i;
  while (i < end && isDigit(i)) i++;
  if (i === end) return INCOMPLETE;
  if (i === secondsStart || text[i] !== ".") return NOT_A_HEADER;
  i++;
  for (let digits = 0; digits < 6; digits++, i++) {
    if (i === end) return INCOMPLETE;
    if (!isDigit(i)) return NOT_A_HEADER;
  }
  if (i === end) return INCOMPLETE;
  if (text[i] !== "]") return NOT_A_HEADER;
  i++;
  if (i === end) return INCOMPLETE;
  if (text[i] === "[") {
    // The caller field of CONFIG_PRINTK_CALLER: `[ T123]` or `[ C1]`.
    i++;
    while (i < end && text[i] === " ") i++;
    if (i === end) return INCOMPLETE;
    if (text[i] !== "T" && text[i] !== "C") return NOT_A_HEADER;
    i++;
    const idStart = i;
    while (i < end && isDigit(i)) i++;
    if (i === end) return INCOMPLETE;
    if (i === idStart || text[i] !== "]") return NOT_A_HEADER;
    i++;
    if (i === end) return INCOMPLETE;
  }
  return text[i] === " " ? i + 1 : NOT_A_HEADER;
}

/**
 * Console text as a person reads its prompts: complete kernel messages cut out
 * (unless `filterKernel` is false), terminal escapes and CRs removed, so that
 * `guest lo[   5.1] e1000: Link is Up` `gin: ` ends in `login: `.
 */
export function promptView(text: string, filterKernel: boolean): string {
  const clean = filterKernel ? filterKernelMessages(text).clean : text;
  return stripTerminalEscapes(clean).replace(/\r/g, "");
}

/** Shown instead of a secret. */
export const MASK = "********";

/** Fragments shorter than this at the edges of a text are left alone. */
const MIN_FRAGMENT = 4;

/**
 * `text` with every occurrence of each secret replaced by `MASK`, and with a
 * fragment of a secret at either edge masked too (the start of a secret at the
 * end of the text, its end at the start), so that a secret split across
 * chunks never shows.
 */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let masked = text;
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    masked = masked.split(secret).join(MASK);
    const shortest = Math.min(MIN_FRAGMENT, secret.length);
    for (let length = Math.min(secret.length - 1, masked.length); length >= shortest; length--) {
      if (masked.endsWith(secret.slice(0, length))) {
        masked = masked.slice(0, masked.length - length) + MASK;
        break;
      }
    }
    for (let length = Math.min(secret.length - 1, masked.length); length >= shortest; length--) {
      if (masked.startsWith(secret.slice(secret.length - length))) {
        masked = MASK + masked.slice(length);
        break;
      }
    }
  }
  return masked;
}

/**
 * Masks secrets in text that arrives in pieces (a terminal echoing a password
 * a byte at a time): a secret is masked whole however it was split. What may
 * be the start of a secret at the end of a piece is held back until the next
 * piece tells; a secret never leaves, in full or as a piece of it that lines up
 * with it.
 */
export class SecretMasker {
  /** Shared with the owner, who may add secrets. */
  readonly #secrets: readonly string[];
  #held = "";

  constructor(secrets: readonly string[]) {
    this.#secrets = secrets;
  }

  /** Takes the next piece; returns the text settled now, secrets masked (possibly empty). */
  push(text: string): string {
    if (this.#secrets.length === 0) return text;
    let joined = this.#held + text;
    for (const secret of this.#secrets)
      if (secret.length > 0 && joined.includes(secret)) joined = joined.split(secret).join(MASK);
    const hold = startOfSecretAtEnd(joined, this.#secrets);
    this.#held = joined.slice(joined.length - hold);
    return joined.slice(0, joined.length - hold);
  }

  /** What is held back, as it may be shown: a piece of a secret of 4 characters or more masked. */
  get held(): string {
    return maskSecrets(this.#held, this.#secrets);
  }
}

/** The length of the longest end of `text` that is the start of a secret (and shorter than it). */
function startOfSecretAtEnd(text: string, secrets: readonly string[]): number {
  let longest = 0;
  for (const secret of secrets)
    for (let length = Math.min(secret.length - 1, text.length); length > longest; length--)
      if (text.endsWith(secret.slice(0, length))) {
        longest = length;
        break;
      }
  return longest;
}
