import { describe, expect, test } from "vitest";
import { guestCommandLine } from "../../src/cli/exec.js";
import { parseDuration, parseJsonObject, parseSshTarget } from "../../src/cli/values.js";

describe("durations", () => {
  test.each([
    ["90", 90_000],
    ["2.5", 2_500],
    [".5", 500],
    ["500ms", 500],
    ["90s", 90_000],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["0", 0],
  ])("%s is %d ms", (text, ms) => {
    expect(parseDuration(text, "--timeout")).toBe(ms);
  });

  test.each(["", "soon", "-1", "1d", "1e3", "2 m", "NaN", "Infinity"])("%j is refused", (text) => {
    expect(() => parseDuration(text, "--timeout", "stop")).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "--timeout", verb: "stop" }),
    );
  });
});

describe("--host", () => {
  test.each([
    ["lab1", { user: undefined, host: "lab1", port: undefined }],
    ["root@lab1.example", { user: "root", host: "lab1.example", port: undefined }],
    ["ci@10.0.0.7:2222", { user: "ci", host: "10.0.0.7", port: 2222 }],
    ["ci@[::1]:22", { user: "ci", host: "::1", port: 22 }],
    ["[fe80::1]", { user: undefined, host: "fe80::1", port: undefined }],
  ])("%s", (text, target) => {
    expect(parseSshTarget(text)).toEqual(target);
  });

  test.each([
    "",
    "user@",
    "@lab1",
    "lab1:0",
    "lab1:70000",
    "lab1:ssh",
    "-oProxyCommand=x",
    "a b",
    "::1",
    "us er@lab1",
  ])("%j is refused", (text) => {
    expect(() => parseSshTarget(text)).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "--host" }),
    );
  });
});

test("QMP arguments are a JSON object", () => {
  expect(parseJsonObject('{"a": [1]}', "ARGUMENTS")).toEqual({ a: [1] });
  for (const text of ["", "null", "[]", '"x"', "{a:1}"])
    expect(() => parseJsonObject(text, "ARGUMENTS")).toThrow(
      expect.objectContaining({ field: "ARGUMENTS" }),
    );
});

describe("exec's words become one guest command line, each word quoted", () => {
  test.each([
    [["uname", "-a"], "uname -a"],
    [["sh", "-c", "echo $HOME | wc -c"], "sh -c 'echo $HOME | wc -c'"],
    [["echo", "it's"], "echo 'it'\\''s'"],
    [["echo", "$(reboot)", ";", "`id`"], "echo '$(reboot)' ';' '`id`'"],
    [["A=1", "env"], "'A=1' env"],
    [["printf", ""], "printf ''"],
  ])("%j → %s", (words, line) => {
    expect(guestCommandLine(words)).toBe(line);
  });

  test("a NUL byte cannot be an argument", () => {
    expect(() => guestCommandLine(["echo", "a\0b"])).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT" }),
    );
  });
});
