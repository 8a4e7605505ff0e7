import {
  type CallOptions,
  checkCallOptions,
  checkTimeoutMs,
  InvalidArgumentError,
} from "@qemu-kvm/core";
import { checkInteger, checkIntervalMs } from "../options.js";

export interface ConnectGuestAgentOptions extends CallOptions {
  /**
   * Deadline for the first synchronization. The agent may not be running yet
   * (the guest is booting): the request waits in QEMU until the guest opens the
   * port, and is sent again every `syncIntervalMs`. Default 60_000.
   */
  timeoutMs?: number;
  /**
   * While the first synchronization has no answer, send a fresh one this often
   * (in case the guest lost the first: the agent restarted, the guest
   * rebooted). Default 5_000. Connecting after QEMU's `VSERPORT_CHANGE` event
   * (`open: true`) needs no resend: the agent answers the first one.
   */
  syncIntervalMs?: number;
  /** Default deadline of each call that does not pass its own. Default 60_000; `Infinity` = none. */
  commandTimeoutMs?: number;
  /** Bytes per `guest-file-read`/`guest-file-write` in `readFile`/`writeFile`. Default 256 KiB (the agent allows 48 MB; larger chunks measured no faster). At most 32 MiB. */
  fileChunkBytes?: number;
  /** Longest pause between two `guest-exec-status` polls (they start at 2 ms and double). Default 100. */
  execPollIntervalMs?: number;
  /**
   * The longest reply line kept, in bytes. Default 48 MiB: the largest
   * legitimate reply is a 32 MiB file chunk (about 43 MiB as base64), or an
   * `exec` status with 16 MiB of stdout and of stderr. A longer line fails the
   * call waiting for it with `ERR_QGA_PROTOCOL`, and the client resynchronizes
   * (or closes, if that fails within `commandTimeoutMs`).
   */
  maxReplyBytes?: number;
}

/** The options that outlive the connect, with their defaults. */
export interface AgentSettings {
  readonly commandTimeoutMs: number;
  readonly syncIntervalMs: number;
  readonly fileChunkBytes: number;
  readonly execPollIntervalMs: number;
  readonly maxReplyBytes: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;
/** qemu-ga refuses reads over 48 MB; writes travel as base64 JSON strings under its 64 MiB token limit. */
export const MAX_FILE_CHUNK_BYTES = 32 * 1024 * 1024;
const DEFAULTS: AgentSettings = {
  commandTimeoutMs: 60_000,
  syncIntervalMs: 5_000,
  fileChunkBytes: 256 * 1024,
  execPollIntervalMs: 100,
  maxReplyBytes: 48 * 1024 * 1024,
};
/** What a `guest-file-read` reply adds to the base64 of its data. */
const REPLY_OVERHEAD_BYTES = 1024;

/** The base64 reply to a read of `bytes` bytes, with its JSON around it. */
export function replyBytesFor(bytes: number): number {
  return Math.ceil(bytes / 3) * 4 + REPLY_OVERHEAD_BYTES;
}

/** Checks the options of `connectGuestAgent` (throws `ERR_INVALID_ARGUMENT`) and fills in the defaults. */
export function agentSettings(options: ConnectGuestAgentOptions | undefined): {
  call: CallOptions;
  settings: AgentSettings;
} {
  const checked = checkCallOptions(options, Object.keys(DEFAULTS));
  checkTimeoutMs(checked.commandTimeoutMs, "options.commandTimeoutMs");
  checkIntervalMs(checked.execPollIntervalMs, "options.execPollIntervalMs");
  checkIntervalMs(checked.syncIntervalMs, "options.syncIntervalMs");
  checkInteger(checked.fileChunkBytes, "options.fileChunkBytes", 1, MAX_FILE_CHUNK_BYTES);
  checkInteger(checked.maxReplyBytes, "options.maxReplyBytes", 1024);
  const settings: AgentSettings = {
    commandTimeoutMs: checked.commandTimeoutMs ?? DEFAULTS.commandTimeoutMs,
    syncIntervalMs: checked.syncIntervalMs ?? DEFAULTS.syncIntervalMs,
    fileChunkBytes: checked.fileChunkBytes ?? DEFAULTS.fileChunkBytes,
    execPollIntervalMs: checked.execPollIntervalMs ?? DEFAULTS.execPollIntervalMs,
    maxReplyBytes: checked.maxReplyBytes ?? DEFAULTS.maxReplyBytes,
  };
  if (replyBytesFor(settings.fileChunkBytes) > settings.maxReplyBytes)
    throw new InvalidArgumentError(
      "options.fileChunkBytes",
      `at most ${Math.floor(((settings.maxReplyBytes - REPLY_OVERHEAD_BYTES) / 4) * 3)} bytes, so that a chunk's base64 reply fits in maxReplyBytes (${settings.maxReplyBytes})`,
      settings.fileChunkBytes,
    );
  return { call: { signal: checked.signal, timeoutMs: checked.timeoutMs }, settings };
}
