import type { FileStat } from "../host.js";

/** A mode as people read it: `0700`. */
export function formatMode(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}

/**
 * Why `makeDir` refuses a path that already exists (`existing`, from lstat),
 * or `undefined` when it accepts it: with `parents`, a directory owned by
 * `uid` (this user; `undefined`: not known, so never accepted) with exactly
 * `mode`. A symlink is never followed (`ELOOP`); anything else is `EEXIST`.
 */
export function existingDirectoryProblem(
  existing: FileStat,
  mode: number,
  parents: boolean,
  uid: number | undefined,
): { systemCode: string; message: string } | undefined {
  if (existing.type === "symlink")
    return { systemCode: "ELOOP", message: "is a symlink (makeDir never follows one)" };
  if (!parents) return { systemCode: "EEXIST", message: "already exists" };
  if (existing.type !== "directory")
    return { systemCode: "EEXIST", message: `exists and is not a directory (${existing.type})` };
  if (uid === undefined)
    return { systemCode: "EEXIST", message: "exists, and whether it is ours cannot be told" };
  if (existing.uid !== uid)
    return {
      systemCode: "EEXIST",
      message: `exists but is owned by uid ${existing.uid}, not this user (uid ${uid})`,
    };
  if (existing.mode !== mode)
    return {
      systemCode: "EEXIST",
      message: `exists with mode ${formatMode(existing.mode)}, not ${formatMode(mode)}`,
    };
  return undefined;
}
