import type { VmSpec } from "@qemu-kvm/bootline";
import { InvalidSpecError } from "@qemu-kvm/bootline";
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

/** Runs `fn`, expects `InvalidSpecError`, returns it. */
export function invalid(fn: () => unknown): InvalidSpecError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidSpecError);
    expect((error as InvalidSpecError).code).toBe("ERR_INVALID_SPEC");
    return error as InvalidSpecError;
  }
  throw new Error("expected InvalidSpecError, nothing was thrown");
}
