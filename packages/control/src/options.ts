import { InvalidArgumentError } from "@qemu-kvm/core";

/** Throws `ERR_INVALID_ARGUMENT` unless `value` is absent or a finite number of milliseconds > 0. */
export function checkIntervalMs(
  value: unknown,
  field: string,
): asserts value is number | undefined {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0)
    throw new InvalidArgumentError(field, "a finite number of milliseconds > 0", value);
}

/** Throws `ERR_INVALID_ARGUMENT` unless `value` is absent or an integer in `min`…`max`. */
export function checkInteger(
  value: unknown,
  field: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): asserts value is number | undefined {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
    throw new InvalidArgumentError(
      field,
      max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer in ${min}…${max}`,
      value,
    );
}

/** Throws `ERR_INVALID_ARGUMENT` unless `value` is a string (non-empty with `nonEmpty`) without NUL. */
export function checkText(
  value: unknown,
  field: string,
  options: { nonEmpty?: boolean } = {},
): asserts value is string {
  const expected = options.nonEmpty ? "a non-empty string" : "a string";
  if (typeof value !== "string" || (options.nonEmpty && value.length === 0))
    throw new InvalidArgumentError(field, expected, value);
  if (value.includes("\0"))
    throw new InvalidArgumentError(field, `${expected} without NUL`, value, {
      problem: "must not contain NUL",
    });
}
