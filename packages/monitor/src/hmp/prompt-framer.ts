import { StringDecoder } from "node:string_decoder";
import { LineTooLongError, stripTerminalEscapes } from "@qemu-kvm/core";
import { HmpProtocolError } from "../errors.js";

/** QEMU's human monitor prompt: it starts a line and ends each answer. */
export const PROMPT = "(qemu) ";

/**
 * Splits the text of QEMU's human monitor at its prompts. HMP is framed by
 * prompts, not lines: the text before a prompt is one command's answer (or the
 * banner). Memory is bounded twice: no line may pass `maxLineBytes`, and no
 * answer `maxOutputBytes`; past either, `push` throws an `HmpProtocolError`
 * (for a line, its `cause` is a `LineTooLongError`).
 */
export class PromptFramer {
  readonly #decoder = new StringDecoder("utf8");
  readonly #maxLineBytes: number;
  readonly #maxOutputBytes: number;
  /** The text since the last prompt, as received (joined once, at the prompt). */
  #pieces: string[] = [];
  /** Its last characters: enough to see a prompt that starts a line. */
  #tail = "";
  #chars = 0;
  /** Bytes of the text kept, and of its last (unfinished) line. */
  #bytes = 0;
  #lineBytes = 0;
  #lastByte = -1;

  constructor(limits: { maxLineBytes: number; maxOutputBytes: number }) {
    this.#maxLineBytes = limits.maxLineBytes;
    this.#maxOutputBytes = limits.maxOutputBytes;
  }

  /** Characters received since the last prompt. */
  get length(): number {
    return this.#chars;
  }

  /** The start of the text received since the last prompt: at most `maxChars` characters. */
  start(maxChars = 200): string {
    return this.#head(0, maxChars);
  }

  /**
   * Adds a chunk. Returns the text before the prompt when the chunk ended with
   * one (the prompt starts a line: `(qemu) ` inside a line is output), else
   * undefined.
   */
  push(chunk: Buffer): string | undefined {
    this.#count(chunk);
    const text = this.#decoder.write(chunk);
    if (text === "") return undefined;
    this.#pieces.push(text);
    this.#chars += text.length;
    this.#tail = (this.#tail + text).slice(-(PROMPT.length + 1));
    if (!this.#tail.endsWith(PROMPT)) return undefined;
    if (this.#chars > PROMPT.length && this.#tail[0] !== "\n") return undefined;
    const answer = this.#pieces.join("").slice(0, this.#chars - PROMPT.length);
    this.discard();
    return answer;
  }

  /** Drops the text received so far (unsolicited output). */
  discard(): void {
    this.#pieces = [];
    this.#tail = "";
    this.#chars = 0;
    this.#bytes = 0;
    this.#lineBytes = 0;
    this.#lastByte = -1;
  }

  #count(chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (this.#bytes > this.#maxOutputBytes)
      throw new HmpProtocolError(
        `QEMU sent more than ${this.#maxOutputBytes} bytes without a prompt (maxOutputBytes)`,
        { received: this.#head(0, 200) },
      );
    let start = 0;
    for (let end = chunk.indexOf(10); end !== -1; end = chunk.indexOf(10, start)) {
      // Not counting the line end, `\n` or `\r\n` (the `\r` may end the previous chunk).
      const cr = end > start ? chunk[end - 1] === 13 : this.#lastByte === 13;
      if (this.#lineBytes + end - start - (cr ? 1 : 0) > this.#maxLineBytes)
        this.#tooLong(chunk, start, end);
      this.#lineBytes = 0;
      start = end + 1;
    }
    this.#lineBytes += chunk.length - start;
    this.#lastByte = chunk[chunk.length - 1] ?? this.#lastByte;
    // Unfinished: one byte more may be the `\r` of its line end.
    if (this.#lineBytes > this.#maxLineBytes + 1) this.#tooLong(chunk, start, chunk.length);
  }

  /** The line that ends (or stops, for now) at `end` of `chunk` is too long. */
  #tooLong(chunk: Buffer, start: number, end: number): never {
    // The line began after the last newline of the text kept, or in this chunk.
    const head =
      (start === 0 ? this.#head(this.#lastNewline(), 400) : "") ||
      chunk.toString("utf8", start, Math.min(end, start + 400)).replace(/\r$/, "");
    const cause = new LineTooLongError({
      maxLineBytes: this.#maxLineBytes,
      start: stripTerminalEscapes(head),
    });
    throw new HmpProtocolError(
      `QEMU sent a line longer than ${this.#maxLineBytes} bytes (maxLineBytes)`,
      { received: cause.start, cause },
    );
  }

  /** The character where the last line of the text kept starts. */
  #lastNewline(): number {
    let from = 0;
    for (let index = this.#pieces.length - 1; index >= 0; index--) {
      const newline = this.#pieces[index]!.lastIndexOf("\n");
      if (newline !== -1) {
        for (let before = 0; before < index; before++) from += this.#pieces[before]!.length;
        return from + newline + 1;
      }
    }
    return 0;
  }

  /** At most `maxChars` characters of the text kept, from character `from`, without joining it all. */
  #head(from: number, limit: number): string {
    let head = "";
    let skip = from;
    for (const piece of this.#pieces) {
      if (skip >= piece.length) {
        skip -= piece.length;
        continue;
      }
      head += piece.slice(skip, skip + limit - head.length);
      skip = 0;
      if (head.length >= limit) break;
    }
    return head;
  }
}
