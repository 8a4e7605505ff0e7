import { expect } from "vitest";
import { type ControlErrorCode, QemuKvmError } from "../../src/index.js";

/** An error of this package, as the tests read it. */
export type ControlRejection = Error & {
  code: ControlErrorCode;
  /** Set on errors of console operations. */
  transcript?: string | undefined;
};

/**
 * Awaits `promise`, expects it to reject with an error of the qemu-kvm family
 * (`QemuKvmError.isInstance`), and returns that error.
 */
export async function rejection(promise: Promise<unknown>): Promise<ControlRejection> {
  try {
    await promise;
  } catch (error) {
    expect(QemuKvmError.isInstance(error)).toBe(true);
    return error as ControlRejection;
  }
  throw new Error("expected a rejection");
}
