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

test("--runs takes a whole number of at least 1", () => {
  expect(parseBenchArguments(["--runs", "25", "host"])).toEqual({
    help: false,
    runs: 25,
    filters: ["host"],
  });
  expect(parseBenchArguments(["--runs=3"]).runs).toBe(3);
  for (const bad of ["0", "2.5", "-1", "many", "1e3"])
    expect(() => parseBenchArguments([`--runs=${bad}`])).toThrow("--runs needs a whole number");
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
