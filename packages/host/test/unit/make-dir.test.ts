import { expect, test } from "vitest";
import type { FileStat } from "../../src/index.js";
import { existingDirectoryProblem, formatMode } from "../../src/shared/make-dir.js";

const directory: FileStat = {
  type: "directory",
  mode: 0o700,
  uid: 1000,
  gid: 1000,
  size: 4096,
  mtimeMs: 0,
};

test("an existing path is accepted only with parents, as our own directory with exactly the mode", () => {
  expect(existingDirectoryProblem(directory, 0o700, true, 1000)).toBeUndefined();
  expect(existingDirectoryProblem(directory, 0o700, false, 1000)).toMatchObject({
    systemCode: "EEXIST",
  });
  expect(existingDirectoryProblem(directory, 0o750, true, 1000)).toEqual({
    systemCode: "EEXIST",
    message: "exists with mode 0700, not 0750",
  });
  expect(existingDirectoryProblem(directory, 0o700, true, 0)?.message).toMatch(/owned by uid 1000/);
  // Whose it is cannot be told: never taken for ours.
  expect(existingDirectoryProblem(directory, 0o700, true, undefined)).toMatchObject({
    systemCode: "EEXIST",
  });
  expect(existingDirectoryProblem({ ...directory, type: "file" }, 0o700, true, 1000)).toMatchObject(
    {
      systemCode: "EEXIST",
    },
  );
  for (const parents of [true, false])
    expect(
      existingDirectoryProblem({ ...directory, type: "symlink" }, 0o700, parents, 1000),
    ).toMatchObject({ systemCode: "ELOOP" });
  expect(formatMode(0o2775)).toBe("02775");
  expect(formatMode(0o5)).toBe("0005");
});
