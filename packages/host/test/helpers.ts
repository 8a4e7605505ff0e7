import { readFileSync } from "node:fs";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { isAliveNow } from "@qemu-kvm/testkit";

/** SIGKILLs the pids a test's commands wrote to `path` (one per line), if still alive. */
export function killRecorded(path: string): void {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return;
  }
  for (const line of text.split("\n")) {
    const pid = Number(line);
    if (!Number.isInteger(pid) || pid <= 1 || !isAliveNow(pid)) continue;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
}

/** Reads pids written one per line to `path`, once it holds `count` of them. */
export async function readPids(path: string, count: number, timeoutMs = 60_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let text = "";
    try {
      text = readFileSync(path, "utf8");
    } catch {
      // Not yet written.
    }
    const pids = text
      .split("\n")
      .filter((line) => /^\d+$/.test(line))
      .map(Number);
    if (pids.length >= count) return pids;
    if (Date.now() > deadline)
      throw new Error(`${path} did not get ${count} pids in ${timeoutMs} ms`);
    await delay(20);
  }
}

/** A node script that prints its arguments as JSON (argv as the process received it). */
export async function writeArgvPrinter(dir: string): Promise<string> {
  const path = join(dir, "argv.cjs");
  await writeFile(
    path,
    "process.stdout.write(JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd(), env: process.env }));\n",
  );
  return path;
}

/** An executable sh script at `path` that prints `$0` and its arguments. */
export async function writeScript(path: string, body: string): Promise<void> {
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
}

/** Arguments a shell would mangle or execute; each must arrive unchanged. */
export function hostileArguments(marker: string): string[] {
  return [
    "plain",
    "two words",
    "  leading and trailing  ",
    "'",
    "''",
    '"',
    `it's "quoted"`,
    "'\\''",
    ";",
    `a; touch ${marker}`,
    `&& touch ${marker}`,
    `| touch ${marker}`,
    `$(touch ${marker})`,
    `\`touch ${marker}\``,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell expansion, on purpose
    "${IFS}",
    "$HOME",
    "$0 $1 $@ $*",
    "\\",
    "\\n",
    "\n",
    "line one\nline two\n",
    "\r\n",
    "\t",
    "*",
    "/*",
    "?",
    "[a-z]*",
    "~",
    "~root",
    "!",
    "!!",
    "#comment",
    "-n",
    "-e",
    "--",
    "--help",
    ">",
    "< /etc/passwd",
    "2>&1",
    "%s%n",
    "",
    "é日本語🙂",
    "\u0001\u001b[31m\u007f",
    "x".repeat(10_000),
  ];
}
