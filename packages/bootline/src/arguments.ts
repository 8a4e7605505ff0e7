/**
 * Checks of the arguments the public functions take: a wrong type or an unknown
 * option is a programmer error, `ERR_INVALID_ARGUMENT`, thrown before any work.
 * (A VM spec is not an argument in this sense: every problem of a spec is
 * reported as an issue of `InvalidSpecError`, with its field path.)
 */
import { checkObject, checkOptionKeys, InvalidArgumentError } from "@qemu-kvm/core";

export function checkString(value: unknown, field: string): asserts value is string {
  if (typeof value !== "string") throw new InvalidArgumentError(field, "a string", value);
}

export function checkStringArray(value: unknown, field: string): asserts value is string[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError(field, "an array of strings", value);
  for (let index = 0; index < value.length; index++)
    if (typeof value[index] !== "string")
      throw new InvalidArgumentError(`${field}[${index}]`, "a string", value[index]);
}

/**
 * An options object: absent, or a plain object with only `known` keys, each
 * either absent or of the type its checker accepts (the checker throws).
 */
export function checkOptions(
  options: unknown,
  checkers: Readonly<Record<string, (value: unknown, field: string) => void>>,
  field = "options",
): void {
  if (options === undefined) return;
  checkObject(options, field);
  checkOptionKeys(options, Object.keys(checkers), field);
  for (const [key, check] of Object.entries(checkers)) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined) check(value, `${field}.${key}`);
  }
}

export function checkBoolean(value: unknown, field: string): void {
  if (typeof value !== "boolean") throw new InvalidArgumentError(field, "true or false", value);
}

/** A string option that must not be empty (a file name, a program). */
export function checkNonEmptyString(value: unknown, field: string): void {
  if (typeof value !== "string" || value === "")
    throw new InvalidArgumentError(field, "a non-empty string", value);
}
