/**
 * How much console text the console's matchers have examined: each search,
 * filter or prompt check adds the number of characters it was given. A flood
 * of output must cost work in proportion to its size, never its size times the
 * unread text (rescanning everything on every arrival stalls the event loop,
 * and with it every other VM the process drives); the unit tests read this to
 * prove it. Internal: not exported from the package.
 */
export const scanMeter = { chars: 0 };

/** Counts `chars` characters examined. */
export function examined(chars: number): void {
  scanMeter.chars += chars;
}
