import { InvalidArgumentError } from "../errors/shared.js";

/**
 * A VM name, which is also its pool owner name, the name of its runtime
 * directory and QEMU's `-name`: 1 to 63 letters, digits, `.`, `_` or `-`,
 * starting with a letter or digit. Safe in a path, a shell word and a QEMU
 * option value as it is.
 */
export const VM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** What a VM name must be, as error messages say it. */
export const VM_NAME_RULE =
  "a VM name: 1–63 letters, digits, '.', '_' or '-', starting with a letter or digit";

export function isVmName(value: unknown): value is string {
  return typeof value === "string" && VM_NAME_PATTERN.test(value);
}

/** Throws `ERR_INVALID_ARGUMENT` (naming `field`) unless `value` is a VM name. */
export function checkVmName(value: unknown, field = "name"): asserts value is string {
  if (!isVmName(value)) throw new InvalidArgumentError(field, VM_NAME_RULE, value);
}
