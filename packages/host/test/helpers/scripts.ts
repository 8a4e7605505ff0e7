import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";

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
