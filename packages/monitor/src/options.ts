import {
  type CallOptions,
  checkCallOptions,
  checkObject,
  checkOptionKeys,
  InvalidArgumentError,
} from "@qemu-kvm/core";

const CALL_OPTION_KEYS = ["signal", "timeoutMs"] as const;
const NO_OPTIONS: CallOptions = Object.freeze({});

/** Checks `{ signal?, timeoutMs? }` (nothing else), as the deadline rule says. */
export function checkCall(options: CallOptions | undefined, field = "options"): CallOptions {
  if (options === undefined) return NO_OPTIONS;
  checkCallOptions(options, field);
  checkOptionKeys(options, CALL_OPTION_KEYS, field);
  return options;
}

/**
 * Checks an option object: an object with only the `known` keys, `signal` an
 * `AbortSignal`, `timeoutMs` as the deadline rule says.
 */
export function checkOptions<T extends object>(
  options: T | undefined,
  known: readonly string[],
  field = "options",
): Partial<T> {
  if (options === undefined) return {};
  checkObject(options, field);
  checkOptionKeys(options, known, field);
  checkCallOptions(options as CallOptions, field);
  return options;
}

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
