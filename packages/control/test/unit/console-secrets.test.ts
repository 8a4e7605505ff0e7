import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";

const run = promisify(execFile);
const child = fileURLToPath(new URL("../helpers/password-echo-child.ts", import.meta.url));
const PASSWORD = "qemu-kvm";

/** Every piece of `secret` at least 4 characters long. */
function fragments(secret: string): string[] {
  const pieces: string[] = [];
  for (let length = 4; length <= secret.length; length++)
    for (let start = 0; start + length <= secret.length; start++)
      pieces.push(secret.slice(start, start + length));
  return pieces;
}

/** The console text the debug output showed as received, chunk after chunk. */
function receivedInDebug(stderr: string): string {
  return stderr
    .split("\n")
    .map((line) => /console <- (".*")$/.exec(line)?.[1])
    .filter((shown): shown is string => shown !== undefined)
    .map((shown) => JSON.parse(shown) as string)
    .join("");
}

describe("serial console: a password echoed in pieces never shows", () => {
  test("not in NODE_DEBUG=qemu-kvm:control output, transcripts or errors, nor any 4-character piece of it", async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      ["--conditions=@qemu-kvm/source", "--import", "tsx", child, PASSWORD],
      { env: { ...process.env, NODE_DEBUG: "qemu-kvm:control" }, timeout: 60_000 },
    );
    const seen = JSON.parse(stdout) as {
      transcripts: string[];
      errors: Array<{ code: string; message: string; transcript: string }>;
    };
    expect(seen.transcripts).toHaveLength(4);
    expect(seen.errors.map((error) => error.code)).toEqual(["ERR_CONSOLE_LOGIN", "ERR_TIMEOUT"]);
    // The debug output did show the traffic, the echo's neighbourhood included.
    const received = receivedInDebug(stderr);
    expect(received).toContain("Password: ");
    expect(received).toContain("built-in shell");
    const texts = {
      "debug output": stderr,
      "received, as the debug output showed it": received,
      ...Object.fromEntries(seen.transcripts.map((text, i) => [`transcript ${i}`, text])),
      ...Object.fromEntries(seen.errors.map((error, i) => [`error ${i}`, JSON.stringify(error)])),
    };
    for (const [where, text] of Object.entries(texts))
      for (const piece of fragments(PASSWORD))
        expect(text.includes(piece), `${JSON.stringify(piece)} in ${where}`).toBe(false);
  });
});
