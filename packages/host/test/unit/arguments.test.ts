import { describe, expect, test } from "vitest";
import { checkPid, signalName } from "../../src/shared/arguments.js";

const invalid = (field: string) => expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field });

describe("signals and pids", () => {
  test("a signal by name, short name or Linux number; aliases read as Linux's own name", () => {
    expect(signalName("SIGTERM")).toBe("SIGTERM");
    expect(signalName("KILL")).toBe("SIGKILL");
    expect(signalName(9)).toBe("SIGKILL");
    expect(signalName(10)).toBe("SIGUSR1");
    expect(signalName("SIGIOT")).toBe("SIGABRT");
    expect(signalName("SIGPOLL")).toBe("SIGIO");
  });

  test("anything else is ERR_INVALID_ARGUMENT: unknown names, real-time and unknown numbers", () => {
    for (const bad of ["SIGNOPE", "", "sigterm", 0, 34, 99, 1.5, -9])
      expect(() => signalName(bad as NodeJS.Signals)).toThrow(invalid("signal"));
  });

  test("a pid is a positive integer (0 and -1 would signal groups)", () => {
    expect(() => checkPid(1)).not.toThrow();
    for (const bad of [0, -1, 1.5, Number.NaN, "1", 2 ** 53])
      expect(() => checkPid(bad)).toThrow(invalid("pid"));
  });
});
