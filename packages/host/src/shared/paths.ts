/** Path arguments and the names a host makes from them. */
import { randomBytes } from "node:crypto";
import { posix } from "node:path";
import { InvalidArgumentError } from "@qemu-kvm/core";
import { checkValue } from "./arguments.js";

/** Throws unless `path` is a non-empty string a process can receive. */
export function checkPath(path: unknown, field: string): asserts path is string {
  checkValue(path, field);
  if (path === "") throw new InvalidArgumentError(field, "a path", path);
}

/** Throws unless `path` names a file: not empty, not ending in `/`, not `.` or `..`. */
export function checkFilePath(path: unknown, field: string): asserts path is string {
  checkPath(path, field);
  const name = posix.basename(path);
  if (path.endsWith("/") || name === "." || name === "..")
    throw new InvalidArgumentError(field, "the path of a file", path, {
      problem: "does not name a file",
    });
}

/** Throws unless `value` is absent or a whole number ≥ 0. */
export function checkCount(value: unknown, field: string): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)
    throw new InvalidArgumentError(field, "a whole number ≥ 0", value);
}

/** `path` without trailing slashes (`/` stays `/`): so `lstat` never follows a symlink named by it. */
export function withoutTrailingSlashes(path: string): string {
  return path.replace(/\/+$/, "") || "/";
}

/**
 * A new name beside `path` for its content while it is written:
 * `dir/.name.qk-RANDOM.part`, hidden, in the same directory (so on the same
 * file system: the rename that puts it in place is atomic).
 */
export function temporaryPath(path: string): string {
  const directory = posix.dirname(path);
  const name = posix.basename(path);
  const temporary = `.${name}.qk-${randomBytes(6).toString("hex")}.part`;
  return directory === "." && !path.startsWith("./") ? temporary : posix.join(directory, temporary);
}

/** The parent of `path` (`/` for `/x`), or `undefined` for `/` and a single relative name. */
export function parentOf(path: string): string | undefined {
  const parent = posix.dirname(path);
  return parent === path || parent === "." ? undefined : parent;
}
