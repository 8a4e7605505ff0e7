/**
 * Splits a byte stream into lines, with no limit on line length.
 *
 * Works on bytes, not strings: `\n` (0x0A) never occurs inside a multi-byte
 * UTF-8 sequence, so a line is cut at the right place even when a character is
 * split across chunks, and each complete line is decoded once. A line split
 * across many chunks is kept as a list of chunks and joined once, when its end
 * arrives (linear in its size, even for a reply of several megabytes).
 * A trailing `\r` is removed (QMP ends lines with CRLF).
 */
export class LineReader {
  #chunk: Buffer = Buffer.alloc(0);
  #offset = 0;
  #partial: Buffer[] = [];
  #partialBytes = 0;

  /** Bytes received that do not yet form a complete line. */
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

  /** The next complete line, or `undefined` until more data arrives. */
  next(): string | undefined {
    const chunk = this.#chunk;
    const start = this.#offset;
    if (start >= chunk.length) return undefined;
    const end = chunk.indexOf(10, start);
    if (end === -1) {
      this.#stash(chunk.subarray(start));
      this.#offset = chunk.length;
      return undefined;
    }
    this.#offset = end + 1;
    let line: string;
    if (this.#partial.length === 0) {
      const stop = end > start && chunk[end - 1] === 13 ? end - 1 : end;
      line = chunk.toString("utf8", start, stop);
    } else {
      this.#partial.push(chunk.subarray(start, end));
      const joined = Buffer.concat(this.#partial, this.#partialBytes + end - start);
      this.#partial = [];
      this.#partialBytes = 0;
      const stop =
        joined.length > 0 && joined[joined.length - 1] === 13 ? joined.length - 1 : joined.length;
      line = joined.toString("utf8", 0, stop);
    }
    return line;
  }

  #stash(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#partial.push(bytes);
    this.#partialBytes += bytes.length;
  }
}
