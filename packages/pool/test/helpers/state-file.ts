import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parsePoolState } from "../../src/index.js";

/** The state file's records as the pool wrote them (the tests run on the host, local or over SSH to loopback). */
export async function readStateLines(stateDir: string): Promise<Record<string, unknown>[]> {
  return (await readFile(join(stateDir, "state.jsonl"), "utf8"))
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The state file, parsed and checked. */
export async function readState(stateDir: string) {
  const path = join(stateDir, "state.jsonl");
  return parsePoolState(await readFile(path, "utf8"), path);
}
