import { expect } from "vitest";
import { ControlError } from "../src/index.js";

/** Awaits `promise`, expects it to reject with a `ControlError`, returns that error. */
export async function rejection(promise: Promise<unknown>): Promise<ControlError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ControlError);
    return error as ControlError;
  }
  throw new Error("expected a rejection");
}
