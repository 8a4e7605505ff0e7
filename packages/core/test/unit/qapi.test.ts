import { expect, test } from "vitest";
import { encodeQapiRequest, QapiCommandError, QemuKvmError } from "../../src/index.js";

test("a request is one line of JSON, arguments only when given", () => {
  expect(encodeQapiRequest("query-status", undefined, 7)).toBe(
    '{"execute":"query-status","id":7}\n',
  );
  const line = encodeQapiRequest("device_del", { id: 'a"\nb' }, 8);
  expect(line.endsWith("\n")).toBe(true);
  expect(line.slice(0, -1)).not.toContain("\n");
  expect(JSON.parse(line)).toEqual({ execute: "device_del", arguments: { id: 'a"\nb' }, id: 8 });
});

test("a command error of either protocol is a QapiCommandError", () => {
  class DemoCommandError extends QapiCommandError {
    static override readonly errorId = "DemoCommandError";
    override name = "DemoCommandError";
    readonly code = "ERR_DEMO_COMMAND" as const;
    constructor(fields: { command: string; errorClass: string; description: string }) {
      super("demo", fields);
    }
  }
  const error = new DemoCommandError({
    command: "x",
    errorClass: "GenericError",
    description: "no",
  });
  expect(error.message).toBe("demo x failed: GenericError: no");
  expect(QapiCommandError.isInstance(error)).toBe(true);
  expect(QemuKvmError.isInstance(error)).toBe(true);
});
