/**
 * configparser's `%(name)s` / `%%` interpolation (its `BasicInterpolation`), with
 * bounds configparser does not have: at most {@link MAX_INTERPOLATION_DEPTH}
 * nested references and {@link MAX_INTERPOLATED_CHARS} characters per value, so
 * that a config whose references multiply cannot exhaust memory. Problems are
 * returned as messages, never thrown.
 */

/** How deep references may nest (configparser's `MAX_INTERPOLATION_DEPTH`). */
export const MAX_INTERPOLATION_DEPTH = 10;

/** The longest value interpolation may produce: far above any real DTS value. */
export const MAX_INTERPOLATED_CHARS = 1_000_000;

type Result = { value: string } | { error: string };

const REFERENCE = /^%\(([^)]+)\)s/;

function expand(raw: string, lookup: (name: string) => string | undefined, depth: number): Result {
  if (!raw.includes("%")) return { value: raw };
  if (depth > MAX_INTERPOLATION_DEPTH) return { error: "interpolation nests too deep" };
  let out = "";
  let index = 0;
  while (index < raw.length) {
    const percent = raw.indexOf("%", index);
    if (percent < 0) {
      out += raw.slice(index);
      break;
    }
    out += raw.slice(index, percent);
    if (raw[percent + 1] === "%") {
      out += "%";
      index = percent + 2;
      continue;
    }
    const match = REFERENCE.exec(raw.slice(percent));
    if (!match) return { error: "'%' must be followed by '%' or '(name)s'" };
    const name = match[1]!.toLowerCase();
    const referenced = lookup(name);
    if (referenced === undefined) return { error: `%(${name})s refers to no option` };
    const inner = expand(referenced, lookup, depth + 1);
    if ("error" in inner) return inner;
    out += inner.value;
    if (out.length > MAX_INTERPOLATED_CHARS)
      return {
        error: `interpolation makes a value longer than ${MAX_INTERPOLATED_CHARS} characters`,
      };
    index = percent + match[0].length;
  }
  return { value: out };
}

/** `raw` with its references replaced, or what is wrong with it. */
export function interpolate(raw: string, lookup: (name: string) => string | undefined): Result {
  try {
    return expand(raw, lookup, 0);
  } catch (error) {
    // The bounds above keep strings and the stack small; should the engine still
    // refuse (a RangeError), the value is reported like any other bad value.
    if (error instanceof RangeError)
      return { error: `interpolation cannot be completed (${error.message})` };
    throw error;
  }
}
