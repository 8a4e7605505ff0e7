import {
  type CallOptions,
  checkCallOptions,
  debugLog,
  InvalidArgumentError,
  withDeadline,
} from "@qemu-kvm/core";
import { checkInteger, checkText } from "../options.js";
import { GuestAgentProtocolError } from "./errors.js";
import type { AgentCommands } from "./exec.js";
import { MAX_FILE_CHUNK_BYTES } from "./options.js";

const debug = debugLog("control");

export interface GuestWriteFileOptions extends CallOptions {
  /** Append to the file (mode `a`) instead of replacing it (`w`). Default false. */
  append?: boolean;
}

export interface FileSettings {
  readonly commandTimeoutMs: number;
  readonly fileChunkBytes: number;
}

/** An agent file handle, checked. */
export function checkHandle(handle: unknown): asserts handle is number {
  if (typeof handle !== "number" || !Number.isSafeInteger(handle) || handle < 0)
    throw new InvalidArgumentError("handle", "a file handle (an integer ≥ 0)", handle);
}

/** `guest-file-open`: a handle. */
export function openFile(
  agent: AgentCommands,
  path: string,
  mode: string,
  options: CallOptions | undefined,
): Promise<number> {
  checkText(path, "path", { nonEmpty: true });
  if (typeof mode !== "string" || !/^[rwa]\+?b?$|^[rwa]b\+$/.test(mode))
    throw new InvalidArgumentError("mode", "an fopen() mode (r, w, a, r+, w+, a+, with b)", mode);
  return agent.execute<number>("guest-file-open", { path, mode }, checkCallOptions(options));
}

/** `guest-file-read` of at most `count` bytes; the data is checked against the count announced. */
export function readFileChunk(
  agent: AgentCommands,
  handle: number,
  count: number,
  options: CallOptions | undefined,
): Promise<{ data: Buffer; eof: boolean }> {
  checkHandle(handle);
  checkInteger(count, "count", 1, MAX_FILE_CHUNK_BYTES);
  const reading = agent.execute<{ count: number; "buf-b64": string; eof: boolean }>(
    "guest-file-read",
    { handle, count },
    checkCallOptions(options),
  );
  return reading.then((reply) => {
    const data = Buffer.from(reply["buf-b64"], "base64");
    if (data.length !== reply.count)
      throw new GuestAgentProtocolError(
        `guest-file-read announced ${reply.count} bytes but sent ${data.length}`,
      );
    return { data, eof: reply.eof };
  });
}

/** `guest-file-write`: the bytes written. */
export function writeFileChunk(
  agent: AgentCommands,
  handle: number,
  data: Uint8Array,
  options: CallOptions | undefined,
): Promise<number> {
  checkHandle(handle);
  if (!(data instanceof Uint8Array))
    throw new InvalidArgumentError("data", "a Uint8Array (a Buffer)", data);
  if (data.byteLength > MAX_FILE_CHUNK_BYTES)
    throw new InvalidArgumentError("data", `at most ${MAX_FILE_CHUNK_BYTES} bytes`, data, {
      problem: `is ${data.byteLength} bytes, more than one chunk may hold (${MAX_FILE_CHUNK_BYTES})`,
    });
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return agent
    .execute<{ count: number; eof: boolean }>(
      "guest-file-write",
      { handle, "buf-b64": bytes.toString("base64") },
      checkCallOptions(options),
    )
    .then((reply) => reply.count);
}

/** The whole file, read in `fileChunkBytes` pieces (open, read…, close). */
export function readFile(
  agent: AgentCommands,
  settings: FileSettings,
  path: string,
  options: CallOptions | undefined,
): Promise<Buffer> {
  checkText(path, "path", { nonEmpty: true });
  const checked = checkCallOptions(options);
  const defaultTimeoutMs = settings.commandTimeoutMs;
  return withDeadline(`guest readFile ${path}`, checked, { defaultTimeoutMs }, async (signal) => {
    const inner = { signal, timeoutMs: Number.POSITIVE_INFINITY };
    const handle = await openFile(agent, path, "r", inner);
    try {
      const chunks: Buffer[] = [];
      for (;;) {
        const { data, eof } = await readFileChunk(agent, handle, settings.fileChunkBytes, inner);
        chunks.push(data);
        if (eof || data.length === 0) break;
      }
      return Buffer.concat(chunks);
    } finally {
      closeQuietly(agent, handle);
    }
  });
}

/** Writes `data` in `fileChunkBytes` pieces (open `w`, or `a` with `append`, write…, close). */
export function writeFile(
  agent: AgentCommands,
  settings: FileSettings,
  path: string,
  data: string | Uint8Array,
  options: GuestWriteFileOptions | undefined,
): Promise<void> {
  checkText(path, "path", { nonEmpty: true });
  if (typeof data !== "string" && !(data instanceof Uint8Array))
    throw new InvalidArgumentError("data", "a string or a Uint8Array", data);
  const checked = checkCallOptions(options, ["append"]);
  if (checked.append !== undefined && typeof checked.append !== "boolean")
    throw new InvalidArgumentError("options.append", "a boolean", checked.append);
  const bytes = Buffer.from(data);
  const defaultTimeoutMs = settings.commandTimeoutMs;
  return withDeadline(`guest writeFile ${path}`, checked, { defaultTimeoutMs }, async (signal) => {
    const inner = { signal, timeoutMs: Number.POSITIVE_INFINITY };
    const handle = await openFile(agent, path, checked.append ? "a" : "w", inner);
    let closed = false;
    try {
      for (let offset = 0; offset < bytes.length; ) {
        const piece = bytes.subarray(offset, offset + settings.fileChunkBytes);
        const written = await writeFileChunk(agent, handle, piece, inner);
        if (written <= 0)
          throw new GuestAgentProtocolError(
            `guest-file-write wrote ${written} bytes of ${piece.length}`,
          );
        offset += written;
      }
      // Closing flushes: a failure here (disk full) is the write's failure.
      closed = true;
      await agent.execute("guest-file-close", { handle }, inner);
    } finally {
      if (!closed) closeQuietly(agent, handle);
    }
  });
}

/** Closes a handle in the background (after a failure): the agent has a limited number. */
function closeQuietly(agent: AgentCommands, handle: number): void {
  if (agent.isClosing) return;
  agent.execute("guest-file-close", { handle }, { timeoutMs: 10_000 }).catch((error: unknown) => {
    debug("qga: closing handle %d failed: %s", handle, (error as Error).message);
  });
}
