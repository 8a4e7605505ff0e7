import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "@qemu-kvm/testkit/fixtures";
import { describe, expect } from "vitest";
import { runParser } from "../../src/console/run-parser.js";
import {
  checkScratchPath,
  deliverCommand,
  MAX_LINE_CHARS,
  MAX_SCRATCH_CHARS,
  MAX_STALE_PER_SETUP,
  privateDirectoryName,
  removalLines,
  runLine,
  setupLine,
  TRANSFER_FUNCTION,
} from "../../src/console/run-protocol.js";

const HOSTILE = [
  "echo hi",
  "it's a 'quoted' \"double\" $HOME `date` $(id) ; & | > < \\ \\n %s %%",
  "printf 'a\\tb\\n'\nfor i in 1 2; do\n\techo \"$i\"\ndone",
  "echo café ☕ \u0001\u001b[31m",
  `echo ${"x'y".repeat(500)}`,
  "'",
  "",
];

/** What a POSIX shell (the host's /bin/sh) makes of the delivery: the command text itself. */
function roundTrip(command: string): string {
  const { preludes, evalWords } = deliverCommand(command);
  // Print the words eval would run, instead of running them.
  const show = evalWords.replace(/^eval /, "printf '%s' ");
  const script = [...preludes, show].join("\n");
  return execFileSync("sh", ["-c", script], { encoding: "utf8" });
}

describe("command delivery", () => {
  test("gets every command into a POSIX shell byte for byte, lines short and printable", () => {
    for (const command of HOSTILE) {
      expect(roundTrip(command)).toBe(command);
      const { preludes, evalWords } = deliverCommand(command);
      for (const line of [...preludes, evalWords]) {
        expect(line.length).toBeLessThan(512);
        expect(line).toMatch(/^[\x20-\x7e]*$/); // nothing the line editor would act on
      }
    }
    expect(() => deliverCommand("a\0b")).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "command" }),
    );
  });

  test("the run line and transfer function work in a POSIX shell, markers never in the echo", ({
    tempDir,
  }) => {
    const dir = tempDir.path;
    const file = join(dir, "out");
    const previous = join(dir, "previous");
    writeFileSync(previous, "old");
    const token = "0123456789abcdef";
    const line = runLine({
      evalWords: deliverCommand("printf 'x\\ny'; echo err >&2; exit 7").evalWords.replace(
        "exit 7",
        "(exit 7)",
      ),
      token,
      file,
      previousFile: previous,
      maxOutputBytes: 1_000,
    });
    expect(line).not.toContain(`QKS:${token}`);
    expect(line).not.toContain(`QKE:${token}`);
    const output = execFileSync("sh", ["-c", `${TRANSFER_FUNCTION}\n${line}`], {
      encoding: "utf8",
    });
    const parse = runParser({
      token,
      maxOutputBytes: 1_000,
      filterKernelMessages: true,
      loginPrompt: /login: *$/,
    });
    const step = parse(`${line}\r\n${output.replace(/\n/g, "\r\n")}$ `);
    expect(step.done).toBe(true);
    expect(step.value).toMatchObject({ kind: "output", exitCode: 7, truncated: false });
    const bytes = (step.value as { output: Buffer }).output;
    expect(bytes.toString()).toBe("x\nyerr\n");
    // The previous output file is gone; this one stays for a retransfer.
    expect(execFileSync("sh", ["-c", `ls ${dir}`], { encoding: "utf8" })).toBe("out\n");
  });

  test("the longest run line fits the guest's line editor, whatever the scratch directory allowed", () => {
    const scratch = `/${"d".repeat(MAX_SCRATCH_CHARS - 1)}`;
    expect(() => checkScratchPath(scratch)).not.toThrow();
    expect(() => checkScratchPath(`${scratch}x`)).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "options.scratchDirectory" }),
    );
    // As the console names its files: the session's private directory, a run count.
    const file = `${privateDirectoryName(scratch, "0123456789ab")}/${Number.MAX_SAFE_INTEGER}`;
    // The longest command still typed inline (a longer one is assembled first).
    let longest = "";
    while (deliverCommand(`${longest}x`).preludes.length === 0) longest += "x";
    const line = runLine({
      evalWords: deliverCommand(longest).evalWords,
      token: "0123456789abcdef",
      file,
      previousFile: file,
      maxOutputBytes: Number.MAX_SAFE_INTEGER,
    });
    expect(line.length).toBeLessThanOrEqual(MAX_LINE_CHARS);
  });

  test("the longest set-up and removal lines fit too: the longest scratch directory, stale ones to remove", () => {
    const scratch = `/${"d".repeat(MAX_SCRATCH_CHARS - 1)}`;
    const stale = Array.from({ length: 13 }, (_, index) =>
      privateDirectoryName(scratch, index.toString(16).padStart(12, "0")),
    );
    const line = setupLine({
      directory: privateDirectoryName(scratch, "0123456789ab"),
      stale: stale.slice(0, MAX_STALE_PER_SETUP),
      made: "0123456789abcdef",
      failed: "fedcba9876543210",
    });
    expect(line.length).toBeLessThanOrEqual(MAX_LINE_CHARS);
    const removals = removalLines(stale);
    expect(
      removals
        .join(" ")
        .split(" ")
        .filter((word) => word.startsWith("/")),
    ).toEqual(stale);
    // As logout types the last one: with `; exit`, or with a marker (`typeAndSync`).
    for (const removal of removals)
      expect(`${removal}; printf '%s:%s\\n' QKR 0123456789abcdef`.length).toBeLessThanOrEqual(
        MAX_LINE_CHARS,
      );
    expect(removalLines([])).toEqual([]);
  });

  test("the transfer function is short, and the markers are never in its text", () => {
    expect(TRANSFER_FUNCTION.length).toBeLessThanOrEqual(310);
    expect(TRANSFER_FUNCTION).not.toMatch(/QK[SENR]:/);
  });
});

describe("set-up line", () => {
  const token = "0123456789abcdef";
  const parse = (text: string) =>
    runParser({
      token,
      maxOutputBytes: 1_000,
      filterKernelMessages: true,
      loginPrompt: /login: *$/,
    })(text.replace(/\n/g, "\r\n"));

  test.skipIf(process.getuid?.() !== 0)(
    "in a POSIX shell, as root: defines __qk, makes a 0700 directory (the stale one goes), runs the first command; a name another user planted (nobody's symlink) is never followed",
    ({ tempDir }) => {
      // A shared sticky directory, as /tmp is, that `nobody` can reach.
      chmodSync(tempDir.path, 0o711);
      const shared = join(tempDir.path, "shared");
      mkdirSync(shared);
      chmodSync(shared, 0o1777);
      const stale = privateDirectoryName(shared, "5a1e5a1e5a1e");
      mkdirSync(stale);
      writeFileSync(join(stale, "3"), "old output");
      const directory = privateDirectoryName(shared, "0123456789ab");
      const login = (at: string) =>
        setupLine({
          directory: at,
          stale: [stale],
          made: "aaaaaaaaaaaaaaaa",
          failed: "bbbbbbbbbbbbbbbb",
          next: runLine({
            evalWords: deliverCommand("echo QEMU").evalWords,
            token,
            file: `${at}/0`,
            previousFile: undefined,
            maxOutputBytes: 1_000,
          }),
        });
      const line = login(directory);
      expect(line.length).toBeLessThanOrEqual(MAX_LINE_CHARS);
      const output = execFileSync("sh", ["-c", line], { encoding: "utf8" });
      expect(output).toMatch(/^QKR:aaaaaaaaaaaaaaaa\nQKS:/);
      const step = parse(output.slice(output.indexOf("\n") + 1));
      expect(step.value).toMatchObject({ kind: "output", exitCode: 0 });
      expect((step.value as { output: Buffer }).output.toString()).toBe("QEMU\n");
      expect(statSync(directory).mode & 0o7777).toBe(0o700);
      expect(existsSync(stale)).toBe(false);

      // Another user plants a symlink at the next session's name, to a directory of root's.
      const victim = join(tempDir.path, "victim");
      mkdirSync(victim);
      const planted = privateDirectoryName(shared, "ba5eba11ba5e");
      execFileSync("setpriv", [
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "ln",
        "-s",
        victim,
        planted,
      ]);
      const refused = execFileSync("sh", ["-c", `${login(planted)} 2>/dev/null`], {
        encoding: "utf8",
      });
      expect(refused).toBe("QKR:bbbbbbbbbbbbbbbb\n"); // nothing ran
      expect(readdirSync(victim)).toEqual([]);
    },
  );
});
