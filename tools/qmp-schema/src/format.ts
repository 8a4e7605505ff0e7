import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BIOME = `${ROOT}node_modules/.bin/biome`;

/**
 * Formats TypeScript as the repository's `biome format` would at `path`, so
 * the generated files pass `biome check` and regenerating reproduces them.
 */
export function formatTypeScript(source: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      BIOME,
      ["format", `--stdin-file-path=${path}`],
      { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`biome format ${path} failed: ${stderr}`, { cause: error }));
        else resolve(stdout);
      },
    );
    child.stdin!.end(source);
  });
}
