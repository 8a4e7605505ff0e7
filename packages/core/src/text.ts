/** Short forms of text and values for error messages and debug output. */

/** The start of `text`: at most `maxChars` characters, `…` marking a cut. */
export function excerpt(text: string, maxChars = 200): string {
  return text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
}

/**
 * The end of `text` without its trailing whitespace: at most `maxLines` lines
 * and `maxChars` characters, `…` marking a cut. For the stderr of a failed
 * command, the output of a guest command, a console transcript.
 */
export function tail(text: string, options: { maxChars?: number; maxLines?: number } = {}): string {
  const maxChars = options.maxChars ?? 2000;
  const maxLines = options.maxLines ?? Number.POSITIVE_INFINITY;
  const trimmed = text.trimEnd();
  let result = trimmed;
  let cut = false;
  if (Number.isFinite(maxLines)) {
    const lines = trimmed.split("\n");
    if (lines.length > maxLines) {
      result = lines.slice(lines.length - maxLines).join("\n");
      cut = true;
    }
  }
  if (result.length > maxChars) return `…${result.slice(result.length - maxChars)}`;
  return cut ? `…\n${result}` : result;
}

/** `text` JSON-quoted and shortened, with its full length when cut: for debug messages. */
export function preview(text: string, maxChars = 300): string {
  return JSON.stringify(
    text.length > maxChars ? `${text.slice(0, maxChars)}…(${text.length} chars)` : text,
  );
}

/**
 * A value as an error message shows it: numbers and strings as written
 * (strings quoted and shortened), other things by what they are, so that a
 * message never says `[object Object]`.
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(excerpt(value, 60));
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "bigint":
      return `${value}n`;
    case "boolean":
    case "undefined":
      return String(value);
    case "symbol":
      return value.toString();
    case "function":
      return "a function";
  }
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const prototype = Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null;
  const className = prototype?.constructor?.name;
  if (prototype !== null && prototype !== Object.prototype && typeof className === "string")
    return `an instance of ${className}`;
  const keys = Object.keys(value as object);
  if (keys.length === 0) return "an empty object";
  const shown = keys.slice(0, 4).join(", ");
  return `an object { ${shown}${keys.length > 4 ? ", …" : ""} }`;
}

/** Removes terminal escape sequences (`ESC[6n`, `ESC[K`, colours…) from console or HMP text. */
export function stripTerminalEscapes(text: string): string {
  // CSI (ESC [ params intermediates final), then other ESC sequences (ESC 7, ESC c…).
  return text.replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b[ -/]*[0-~]/g, "");
}
