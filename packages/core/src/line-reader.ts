import { InvalidArgumentError, LineTooLongError } from "./errors/shared.js";

/**
 * Splits a byte stream into lines of at most `maxLineBytes` bytes, not
 * counting the line end (`\n` or `\r\n`), for QMP, HMP and
 * guest agent replies, so that a broken or hostile peer cannot grow the
 * controller's memory without bound.
 *
 * Works on bytes, not strings: `\n` (0x0A) never occurs inside a multi-byte
 * UTF-8 sequence, so a line is cut at the right place even when a character is
 * split across chunks, and each complete line is decoded once. A line split
 * across many chunks is kept as a list of chunks and joined once, when its end
 * arrives (linear in its size). A trailing `\r` is removed.
 *
 * A line that grows past the limit makes `next()` throw a `LineTooLongError`
 * once; the reader then drops bytes up to the next newline and goes on from
 * there, so a client may resynchronize or close, as its protocol says.
 */
export class LineReader {
  readonly maxLineBytes: number;
  #chunk: Buffer = Buffer.alloc(0);
  #offset = 0;
  #partial: Buffer[] = [];
  #partialBytes = 0;
  /** Dropping the rest of an over-long line. */
  #skipping = false;
  #overflow: LineTooLongError | undefined;

  constructor(options: { maxLineBytes: number }) {
    const max = options.maxLineBytes;
    if (!Number.isSafeInteger(max) || max < 1)
      throw new InvalidArgumentError("maxLineBytes", "a positive integer", max);
    this.maxLineBytes = max;
  }

  /** Bytes received that do not yet form a complete line (at most `maxLineBytes` of them kept). */
  get pendingBytes(): number {
    return this.#partialBytes + this.#chunk.length - this.#offset;
  }

  push(chunk: Buffer): void {
    if (this.#offset < this.#chunk.length) {
      // The consumer stopped mid-chunk (it may hold complete lines): keep it in front.
      this.#chunk = Buffer.concat([this.#chunk.subarray(this.#offset), chunk]);
    } else {
      this.#chunk = chunk;
    }
    this.#offset = 0;
  }

  /**
   * The next complete line, or `undefined` until more data arrives. Throws a
   * `LineTooLongError` (once per over-long line) when a line passes the limit.
   */
  next(): string | undefined {
    for (;;) {
      const overflow = this.#overflow;
      if (overflow) {
        this.#overflow = undefined;
        throw overflow;
      }
      const chunk = this.#chunk;
      const start = this.#offset;
      if (start >= chunk.length) return undefined;
      const end = chunk.indexOf(10, start);
      if (this.#skipping) {
        this.#offset = end === -1 ? chunk.length : end + 1;
        if (end === -1) return undefined;
        this.#skipping = false;
        continue;
      }
      if (end === -1) {
        this.#stash(chunk.subarray(start));
        this.#offset = chunk.length;
        continue;
      }
      this.#offset = end + 1;
      if (
        this.#partialBytes + end - start - (this.#endsWithCr(chunk, start, end) ? 1 : 0) >
        this.maxLineBytes
      ) {
        // Completed here, but too long.
        this.#tooLong(chunk.subarray(start, end), false);
        continue;
      }
      return this.#line(chunk, start, end);
    }
  }

  #endsWithCr(chunk: Buffer, start: number, end: number): boolean {
    if (end > start) return chunk[end - 1] === 13;
    const last = this.#partial[this.#partial.length - 1];
    return last !== undefined && last[last.length - 1] === 13;
  }

  #line(chunk: Buffer, start: number, end: number): string {
    if (this.#partial.length === 0) {
      const stop = end > start && chunk[end - 1] === 13 ? end - 1 : end;
      return chunk.toString("utf8", start, stop);
    }
    this.#partial.push(chunk.subarray(start, end));
    const joined = Buffer.concat(this.#partial, this.#partialBytes + end - start);
    this.#partial = [];
    this.#partialBytes = 0;
    const stop =
      joined.length > 0 && joined[joined.length - 1] === 13 ? joined.length - 1 : joined.length;
    return joined.toString("utf8", 0, stop);
  }

  #stash(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.#partialBytes + bytes.length > this.maxLineBytes + 1) {
      this.#tooLong(bytes, true);
      return;
    }
    this.#partial.push(bytes);
    this.#partialBytes += bytes.length;
  }

  /** Drops the line kept so far; `unfinished`: drop the rest up to the next newline too. */
  #tooLong(last: Buffer, unfinished: boolean): void {
    const head = this.#partial.length > 0 ? this.#partial[0]! : last;
    this.#overflow = new LineTooLongError({
      maxLineBytes: this.maxLineBytes,
      start: head.toString("utf8", 0, Math.min(head.length, 201)),
    });
    this.#partial = [];
    this.#partialBytes = 0;
    this.#skipping = unfinished;
  }
}
