import { InvalidArgumentError } from "./errors/shared.js";

/**
 * Option objects are checked alike everywhere: a key the function does not
 * know is an error (a misspelt or misplaced option is never silently ignored).
 * Throws `ERR_INVALID_ARGUMENT` naming the first unknown key, e.g.
 * `options.sock is not an option; expected one of host, port, user…`.
 */
export function checkOptionKeys(
  options: object,
  known: readonly string[],
  field = "options",
): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const value = (options as Record<string, unknown>)[key];
    throw new InvalidArgumentError(`${field}.${key}`, `one of ${known.join(", ")}`, value, {
      problem: `is not an option; expected one of ${known.join(", ")}`,
    });
  }
}

/** Throws `ERR_INVALID_ARGUMENT` unless `value` is a plain object (not null, not an array). */
export function checkObject(value: unknown, field: string): asserts value is object {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new InvalidArgumentError(field, "an object", value);
}
