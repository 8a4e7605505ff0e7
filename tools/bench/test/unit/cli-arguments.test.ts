import { expect, test } from "vitest";
import { parseBenchArguments } from "../../src/cli-arguments.js";

test("names are filters; no option means a plain run", () => {
  expect(parseBenchArguments(["host", "pool"])).toEqual({ help: false, filters: ["host", "pool"] });
  expect(parseBenchArguments(["--", "host"])).toEqual({ help: false, filters: ["host"] });
});

test("--against and --repo take a value, separate or after =", () => {
  expect(parseBenchArguments(["--against", "HEAD~1", "bootline"])).toEqual({
    help: false,
    against: "HEAD~1",
    filters: ["bootline"],
  });
  expect(parseBenchArguments(["--against=main", "--repo=/tmp/r"])).toEqual({
    help: false,
    against: "main",
    repo: "/tmp/r",
    filters: [],
  });
});

test("a missing value or an unknown option is an error", () => {
  expect(() => parseBenchArguments(["--against"])).toThrow("--against needs a value");
  expect(() => parseBenchArguments(["--against", "--repo", "x"])).toThrow(
    "--against needs a value",
  );
  expect(() => parseBenchArguments(["--against="])).toThrow("--against needs a value");
  expect(() => parseBenchArguments(["--fast"])).toThrow("unknown option --fast");
});

test("--help", () => {
  expect(parseBenchArguments(["--help"]).help).toBe(true);
  expect(parseBenchArguments(["-h"]).help).toBe(true);
});
