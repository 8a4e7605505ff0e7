import { InvalidArgumentError } from "@qemu-kvm/core";

/** A queue bound: a positive integer, or `Infinity`. */
export function checkBufferSize(
  value: unknown,
  field: string,
): asserts value is number | undefined {
  if (value === undefined || value === Number.POSITIVE_INFINITY) return;
  if (!Number.isSafeInteger(value) || (value as number) < 1)
    throw new InvalidArgumentError(field, "a positive integer or Infinity", value);
}

/** A byte limit: a positive integer. */
export function checkByteLimit(value: unknown, field: string): asserts value is number | undefined {
  if (value === undefined) return;
  if (!Number.isSafeInteger(value) || (value as number) < 1)
    throw new InvalidArgumentError(field, "a positive integer number of bytes", value);
}

/** Every error as an `Error` (for `destroy(reason)`). */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** 16 MiB: far above any legitimate line (a `query-qmp-schema` reply is several hundred KB). */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;
