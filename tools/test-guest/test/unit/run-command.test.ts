import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { GuestCommandError } from "../../src/errors.js";
import { runCommand, runCommandToFile } from "../../src/run-command.js";

describe("runCommand", () => {
  test("passes argv without a shell and feeds stdin", async () => {
    const { stdout } = await runCommand(
      "sh",
      ["-c", 'printf "%s|" "$@"; cat', "-", "a b", "$(x)"],
      {
        input: "in",
      },
    );
    expect(stdout).toBe("a b|$(x)|in");
  });

  test("a non-zero exit is ERR_GUEST_COMMAND with the exit code and stderr", async () => {
    const error = await runCommand("sh", ["-c", "echo oops >&2; exit 3"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuestCommandError);
    expect(error).toMatchObject({
      code: "ERR_GUEST_COMMAND",
      exitCode: 3,
      stderr: "oops\n",
      file: "sh",
    });
  });

  test("a missing program is ERR_GUEST_COMMAND with no exit code", async () => {
    await expect(runCommand("/nonexistent/program", [])).rejects.toMatchObject({
      code: "ERR_GUEST_COMMAND",
      exitCode: null,
      signal: null,
    });
  });

  test("the deadline kills the command: ERR_TIMEOUT; abort: ERR_ABORTED", async () => {
    const started = performance.now();
    await expect(runCommand("sleep", ["30"], { timeoutMs: 100 })).rejects.toMatchObject({
      code: "ERR_TIMEOUT",
    });
    expect(performance.now() - started).toBeLessThan(5_000);
    const controller = new AbortController();
    const running = runCommand("sleep", ["30"], { signal: controller.signal });
    controller.abort();
    await expect(running).rejects.toMatchObject({ code: "ERR_ABORTED" });
  });

  test("streams stdout to a file", async () => {
    const directory = await mkdtemp(join(tmpdir(), "qk-run-"));
    try {
      const output = join(directory, "out");
      await runCommandToFile("sh", ["-c", "head -c 300000 /dev/zero | tr '\\0' x"], output);
      expect((await readFile(output, "utf8")).length).toBe(300_000);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
