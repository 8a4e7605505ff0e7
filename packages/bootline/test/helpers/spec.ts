/** Shared by the unit tests: specs, argv lookups, and the errors a call must throw. */
import {
  DtsConfigError,
  InvalidArgumentError,
  InvalidSpecError,
  type VmSpec,
} from "@qemu-kvm/bootline";
import { expect } from "vitest";

/** Every value given to `option` in argv, in order. */
export function optionValues(args: readonly string[], option: string): string[] {
  const values: string[] = [];
  for (let index = 0; index < args.length; index++)
    if (args[index] === option && index + 1 < args.length) values.push(args[index + 1]!);
  return values;
}

/** The one value of `option`; fails if it appears zero or several times. */
export function optionValue(args: readonly string[], option: string): string {
  const values = optionValues(args, option);
  expect(values, `${option} in ${args.join(" ")}`).toHaveLength(1);
  return values[0]!;
}

/** A minimal valid spec plus overrides. */
export function spec(overrides: Partial<VmSpec> & Record<string, unknown> = {}): VmSpec {
  return { name: "vm0", runtimeDir: "/run/qk/vm0", ...overrides } as VmSpec;
}

/** What `fn` throws; fails the test when it returns. */
function thrown(fn: () => unknown, what: string): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error(`expected ${what}, nothing was thrown`);
}

/** Runs `fn`, expects `InvalidSpecError` (`ERR_BOOTLINE_INVALID_SPEC`), returns it. */
export function invalid(fn: () => unknown): InvalidSpecError {
  const error = thrown(fn, "InvalidSpecError");
  expect(error).toBeInstanceOf(InvalidSpecError);
  expect((error as InvalidSpecError).code).toBe("ERR_BOOTLINE_INVALID_SPEC");
  return error as InvalidSpecError;
}

/** Runs `fn`, expects `DtsConfigError` (`ERR_BOOTLINE_DTS_CONFIG`), returns it. */
export function dtsError(fn: () => unknown): DtsConfigError {
  const error = thrown(fn, "DtsConfigError");
  expect(error).toBeInstanceOf(DtsConfigError);
  expect((error as DtsConfigError).code).toBe("ERR_BOOTLINE_DTS_CONFIG");
  return error as DtsConfigError;
}

/** Runs `fn`, expects core's `InvalidArgumentError` (`ERR_INVALID_ARGUMENT`) naming `field`. */
export function invalidArgument(fn: () => unknown, field: string): InvalidArgumentError {
  const error = thrown(fn, "InvalidArgumentError");
  expect(error).toBeInstanceOf(InvalidArgumentError);
  expect(error).toMatchObject({ code: "ERR_INVALID_ARGUMENT", field });
  return error as InvalidArgumentError;
}
