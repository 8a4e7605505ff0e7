import { stripTerminalEscapes } from "@qemu-kvm/core";
import { type FilteredText, filterKernelMessages, rawIndex } from "./console-text.js";
import { examined } from "./scan-meter.js";

/** The end of a line that prompt checks look at, in characters. */
export const PROMPT_LINE_CHARS = 512;

/**
 * An unfinished line stays unread (for whoever reads next) while its raw text,
 * kernel messages included, is at most this long; past it, it is consumed and
 * only its clean end is kept.
 */
const UNFINISHED_RAW_CHARS = 2_048;

export interface PromptStep {
  /**
   * What the end of the output shows, as a person reads its prompts: the last
   * complete line and the unfinished one after it (the last
   * `PROMPT_LINE_CHARS` of each), joined by `\n`, with kernel messages,
   * terminal escapes and CRs removed. Prompts are anchored at its end.
   */
  view: string;
  /** The complete lines that this step read (clean), for checks such as `loginFailed`. */
  lines: string;
  /** How much of the text given to consume: the complete lines; the unfinished one stays. */
  consume: number;
}

/**
 * Reads console output for prompts (login and logout) in steps, looking only
 * at what is new: each step is given the unread text (the unfinished line left
 * unread last time and what arrived since), hands back the complete lines it
 * read, and leaves the unfinished line unread. A login prompt split by a kernel
 * message (`guest lo[ 5.1] e1000: Link is Up` `gin: `) reads as `guest login: `.
 */
export class PromptTail {
  readonly #filterKernel: boolean;
  /** The last complete line, clean (its end). */
  #lastLine = "";
  /** The clean start of the unfinished line, when a long one was consumed already (its end). */
  #carried = "";

  constructor(filterKernel: boolean) {
    this.#filterKernel = filterKernel;
  }

  /** Forgets what was read: the next view shows only what comes next. */
  reset(): void {
    this.#lastLine = "";
    this.#carried = "";
  }

  step(text: string): PromptStep {
    const filtered: FilteredText = this.#filterKernel
      ? filterKernelMessages(text)
      : { clean: text, final: text.length, messages: [], ranges: [] };
    const clean = filtered.clean;
    const newline = clean.lastIndexOf("\n");
    let lines = "";
    let unfinished = clean;
    if (newline === -1) {
      unfinished = this.#carried + clean;
    } else {
      lines = this.#carried + clean.slice(0, newline + 1);
      const previous = lines.lastIndexOf("\n", lines.length - 2);
      this.#lastLine = shown(
        lines.slice(Math.max(previous + 1, lines.length - 1 - 4 * PROMPT_LINE_CHARS), -1),
      );
      this.#carried = "";
      unfinished = clean.slice(newline + 1);
    }
    let consume = rawIndex(filtered, newline + 1);
    if (text.length - consume > UNFINISHED_RAW_CHARS) {
      // A long unfinished line (or many kernel messages in one): keep its clean end only.
      consume = filtered.final;
      this.#carried = unfinished.slice(-PROMPT_LINE_CHARS);
    }
    const recent = unfinished.slice(-4 * PROMPT_LINE_CHARS);
    examined(text.length + recent.length);
    const end = shown(recent);
    return { view: `${this.#lastLine}\n${end}`, lines, consume };
  }
}

/** A line as a person reads it: escapes and CRs removed, its last `PROMPT_LINE_CHARS`. */
function shown(line: string): string {
  return stripTerminalEscapes(line).replace(/\r/g, "").slice(-PROMPT_LINE_CHARS);
}

/** `pattern.test(text)` from the start of `text`, counted as work. */
export function matches(pattern: RegExp, text: string): boolean {
  examined(text.length);
  pattern.lastIndex = 0;
  return pattern.test(text);
}
