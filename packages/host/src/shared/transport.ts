import type { EnvChanges } from "../host.js";

/** What a transport needs to run a validated command. */
export interface CommandSpec {
  argv: readonly string[];
  cwd: string | undefined;
  env: EnvChanges | undefined;
}

/** What a transport's exec returns: raw bytes, before decoding and the exit check. */
export interface RawExecResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}
