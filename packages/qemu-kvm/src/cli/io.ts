/** What a verb reads and writes: the process's streams and environment, or a test's. */
import type { Readable, Writable } from "node:stream";

export type Env = Readonly<Record<string, string | undefined>>;

/** An output stream, and whether it is a terminal. */
export type Output = Writable & { readonly isTTY?: boolean };

/** stdin, as `console` uses it (raw mode on a terminal). */
export type Input = Readable & {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
};

export interface CliIo {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly stdin: Input;
  readonly env: Env;
  /** Aborted on the first SIGINT or SIGTERM: the verb stops what it started, then returns. */
  readonly signal: AbortSignal;
}

/** Writes `text` and resolves once it is handed to the system (output is never lost at exit). */
export function write(stream: Output, text: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(text, (error) => (error ? reject(error) : resolve()));
  });
}

/** bootline's warnings of a spec, one line each on stderr: `qemu-kvm: warning: CODE: message (field)`. */
export async function writeWarnings(
  io: Pick<CliIo, "stderr">,
  warnings: readonly { readonly code: string; readonly field: string; readonly message: string }[],
): Promise<void> {
  for (const warning of warnings)
    await write(
      io.stderr,
      `qemu-kvm: warning: ${warning.code}: ${warning.message} (${warning.field})\n`,
    );
}
