import { InvalidArgumentError } from "@qemu-kvm/core";
import type { TextView } from "./chunked-text.js";
import type { Matcher } from "./expect-buffer.js";
import { examined } from "./scan-meter.js";

/** A pattern `expect()` accepts. */
export type ExpectPattern = string | RegExp;

export interface ExpectMatch {
  /** Index of the pattern that matched, in the array given (0 for a single pattern). */
  index: number;
  /** The matched text. */
  match: string;
  /**
   * The RegExp match (capture groups), for a RegExp pattern. Its `index` and
   * `input` are relative to the unread text, as if the RegExp had searched it whole.
   */
  groups: RegExpExecArray | undefined;
  /** The text between the previous consumption and the match. */
  before: string;
}

/**
 * When more text arrives, a RegExp searches it together with this many
 * characters before it: a match up to this long is found however its text was
 * split between arrivals. A longer one is found only when the text it spans
 * arrived within one search (the first search of a wait covers all the unread
 * text). Searching all the unread text on every arrival instead made a flood
 * cost its size squared.
 */
export const SPLIT_MATCH_CHARS = 2048;

/** Characters before where a search starts that a RegExp sees (`^`, `\b`, lookbehinds). */
const CONTEXT_CHARS = 256;

interface Found {
  start: number;
  end: number;
  exec?: RegExpExecArray;
  /** Where the text `exec` searched starts. */
  base?: number;
}

/**
 * A matcher for `expect()`: the earliest match of any pattern (ties go to the
 * pattern listed first); consumes through the end of the match. Each pattern
 * searches only what arrived since it last looked (strings: and the pattern's
 * length before it; RegExps: and `SPLIT_MATCH_CHARS` before it).
 */
export function patternMatcher(patterns: readonly ExpectPattern[]): Matcher<ExpectMatch> {
  const compiled = patterns.map((pattern, index) => {
    const field = patterns.length === 1 ? "pattern" : `pattern[${index}]`;
    if (typeof pattern === "string") {
      if (pattern.length === 0)
        throw new InvalidArgumentError(field, "a non-empty string or a RegExp", pattern);
      return pattern;
    }
    if (!(pattern instanceof RegExp))
      throw new InvalidArgumentError(field, "a non-empty string or a RegExp", pattern);
    // A global copy: exec() from where we choose, the caller's lastIndex untouched.
    const flags = pattern.flags.replace(/[gy]/g, "");
    return new RegExp(pattern.source, `${flags}g`);
  });
  // Per pattern, where its last search ended (absolute position).
  const searchedTo = compiled.map(() => Number.NEGATIVE_INFINITY);
  return (view) => {
    let best: (Found & { index: number }) | undefined;
    compiled.forEach((pattern, index) => {
      const found = search(pattern, view, searchedTo[index]!);
      searchedTo[index] = view.end;
      if (found && (!best || found.start < best.start)) best = { ...found, index };
    });
    if (!best) return undefined;
    const found: Found & { index: number } = best;
    return {
      consume: found.end - view.start,
      done: true,
      value: {
        index: found.index,
        match: view.slice(found.start, found.end),
        groups: found.exec && rebase(found.exec, found.base! - view.start, view),
        before: view.slice(view.start, found.start),
      } satisfies ExpectMatch,
    };
  };
}

function search(pattern: string | RegExp, view: TextView, searchedTo: number): Found | undefined {
  if (typeof pattern === "string") {
    // Only where a match could end in what is new.
    const from = Math.max(view.start, searchedTo - pattern.length + 1);
    const window = view.slice(from);
    examined(window.length);
    const at = window.indexOf(pattern);
    return at === -1 ? undefined : { start: from + at, end: from + at + pattern.length };
  }
  const from = Math.max(view.start, searchedTo - SPLIT_MATCH_CHARS);
  const base = Math.max(view.start, from - CONTEXT_CHARS);
  const window = view.slice(base);
  examined(window.length);
  pattern.lastIndex = from - base;
  const exec = pattern.exec(window);
  if (!exec) return undefined;
  const start = base + exec.index;
  return { start, end: start + exec[0].length, exec, base };
}

/** `exec` as if the RegExp had searched the whole unread text: `index`, `input`, `indices`. */
function rebase(exec: RegExpExecArray, shift: number, view: TextView): RegExpExecArray {
  exec.index += shift;
  exec.input = view.text;
  // With the `d` flag: each group's [start, end] (the named ones are the same arrays).
  const pairs: Array<[number, number] | undefined> = exec.indices ?? [];
  for (const pair of pairs) {
    if (!pair) continue;
    pair[0] += shift;
    pair[1] += shift;
  }
  return exec;
}

/** The patterns of `expect()`/`waitForOutput()`, checked, as one matcher, and as errors name them. */
export function compilePatterns(pattern: ExpectPattern | readonly ExpectPattern[]): {
  matcher: Matcher<ExpectMatch>;
  described: string;
} {
  const patterns: readonly ExpectPattern[] = Array.isArray(pattern)
    ? pattern
    : [pattern as ExpectPattern];
  if (patterns.length === 0)
    throw new InvalidArgumentError("pattern", "a pattern or a non-empty array of them", pattern);
  return {
    matcher: patternMatcher(patterns),
    described: patterns.map((item) => String(item)).join(" | "),
  };
}
