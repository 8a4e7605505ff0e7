/**
 * Random words for the quoting properties: what a process can receive (often
 * full of what a shell would interpret), and what it cannot.
 */
import fc from "fast-check";

/** Characters a shell gives a meaning to outside single quotes, often, among any others. */
const HOSTILE = [..."'\"\\$`\n\r\t !#&();<>|*?[]{}~=%^,:@-", "$(", "${", "'\\''", "\u00a0", "é"];
export const hostileWord = fc.string({ unit: fc.constantFrom(...HOSTILE), maxLength: 30 });
/** Any code point but NUL, lone surrogates excluded: what a process can receive. */
export const anyWord = fc
  .string({ unit: "binary", maxLength: 30 })
  .filter((word) => !word.includes("\0") && !/[\uD800-\uDFFF]/u.test(word));
export const word = fc.oneof(hostileWord, anyWord, fc.constantFrom("", "'", "''", "-", "--", "\n"));
export const words = fc.array(word, { maxLength: 8 });

/** What no process can receive: a NUL, a lone surrogate, or not a string at all. */
export const badWord: fc.Arbitrary<unknown> = fc.oneof(
  fc
    .tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }))
    .map(([before, after]) => `${before}\0${after}`),
  fc
    .tuple(fc.string({ maxLength: 10 }), fc.integer({ min: 0xd800, max: 0xdfff }))
    .map(([before, unit]) => `${before}${String.fromCharCode(unit)}`),
  fc.anything().filter((value) => typeof value !== "string"),
);

/** What `printf '%s\0' WORDS…` prints: each word's bytes, NUL-terminated. */
export function terminated(parts: readonly Buffer[]): Buffer {
  return Buffer.concat(parts.flatMap((part) => [part, Buffer.of(0)]));
}
