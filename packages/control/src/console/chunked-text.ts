/**
 * Console text as a matcher sees it: positions are absolute (counted from the
 * first character the console received), so a matcher can remember how far it
 * has looked while text is consumed or dropped in front of it.
 */
export interface TextView {
  /** Position of the first character kept. */
  readonly start: number;
  /** Position just after the last character received. */
  readonly end: number;
  /** `end - start`. */
  readonly length: number;
  /** The text from `from` (clamped to `start`) to `to` (default `end`). Costs `to - from`. */
  slice(from: number, to?: number): string;
  /** All of it. Costs its length (once: kept until the text changes). */
  readonly text: string;
}

/** Chunks shorter than this are joined as they arrive: a console may deliver single bytes. */
const SMALL_CHUNK = 1024;

/**
 * Text kept as the chunks it arrived in. Appending and dropping from the front
 * cost the size of the chunk, never the size of what is kept: one growing
 * string would be copied whole (flattened) each time it is searched, which
 * makes a full 1 MiB buffer cost 1 MiB of copying per arrival.
 */
export class ChunkedText implements TextView {
  #chunks: string[] = [];
  /** Index of the first live chunk (dropped ones are removed in batches). */
  #head = 0;
  /** Characters of the first live chunk already dropped. */
  #offset = 0;
  #start = 0;
  #end = 0;
  #joined: string | undefined;

  constructor(initial = "", start = 0) {
    this.#start = start;
    this.#end = start;
    this.push(initial);
  }

  get start(): number {
    return this.#start;
  }

  get end(): number {
    return this.#end;
  }

  get length(): number {
    return this.#end - this.#start;
  }

  push(text: string): void {
    if (text.length === 0) return;
    this.#joined = undefined;
    this.#end += text.length;
    const last = this.#chunks.length - 1;
    if (
      last >= this.#head &&
      text.length < SMALL_CHUNK &&
      this.#chunks[last]!.length < SMALL_CHUNK
    ) {
      this.#chunks[last] += text;
      return;
    }
    this.#chunks.push(text);
  }

  /** Drops the first `count` characters (all of them at most) and returns how many went. */
  drop(count: number): number {
    const dropped = Math.max(0, Math.min(count, this.length));
    if (dropped === 0) return 0;
    this.#joined = undefined;
    this.#start += dropped;
    let left = dropped;
    while (left > 0) {
      const chunk = this.#chunks[this.#head]!;
      const available = chunk.length - this.#offset;
      if (left < available) {
        this.#offset += left;
        break;
      }
      left -= available;
      this.#head++;
      this.#offset = 0;
    }
    if (this.#head > 64 && this.#head * 2 > this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
    return dropped;
  }

  /** Drops the first `count` characters and returns them. */
  take(count: number): string {
    const taken = this.slice(this.#start, this.#start + count);
    this.drop(taken.length);
    return taken;
  }

  slice(from: number, to = this.#end): string {
    const low = Math.max(from, this.#start);
    const high = Math.min(to, this.#end);
    if (high <= low) return "";
    if (this.#joined !== undefined)
      return this.#joined.slice(low - this.#start, high - this.#start);
    // Walk back from the end: the text wanted is usually near it.
    const parts: string[] = [];
    let chunkEnd = this.#end;
    for (let index = this.#chunks.length - 1; index >= this.#head && chunkEnd > low; index--) {
      const chunk = this.#chunks[index]!;
      const chunkStart = chunkEnd - (chunk.length - (index === this.#head ? this.#offset : 0));
      if (chunkStart < high) {
        const base = chunkEnd - chunk.length;
        parts.push(chunk.slice(Math.max(low, chunkStart) - base, Math.min(high, chunkEnd) - base));
      }
      chunkEnd = chunkStart;
    }
    return parts.length === 1 ? parts[0]! : parts.reverse().join("");
  }

  get text(): string {
    if (this.#joined === undefined) {
      this.#joined = this.slice(this.#start);
      // One chunk from now on: the next join costs only what arrives after.
      this.#chunks = this.#joined.length > 0 ? [this.#joined] : [];
      this.#head = 0;
      this.#offset = 0;
    }
    return this.#joined;
  }
}
