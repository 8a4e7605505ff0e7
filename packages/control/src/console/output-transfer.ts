import { randomBytes } from "node:crypto";
import { debugLog, preview } from "@qemu-kvm/core";
import type { CommandResult } from "../control-channel.js";
import { ConsoleOutputError } from "./errors.js";
import type { ConsoleSettings } from "./options.js";
import { MissingFunctionSignal, type RunTransfer, runParser } from "./run-parser.js";
import { TRANSFER_FUNCTION, transferScript } from "./run-protocol.js";
import type { ConsoleTerminal } from "./terminal.js";

const debug = debugLog("control");

/** Transfers of one output, the first included. */
const TRANSFER_ATTEMPTS = 3;

/** A random marker token: 16 hexadecimal digits. */
export function newToken(): string {
  return randomBytes(8).toString("hex");
}

/** What receiving a run's output needs of the shell. */
export interface TransferContext {
  readonly terminal: ConsoleTerminal;
  readonly settings: ConsoleSettings;
  /** Types `line` followed by a marker; resolves once the marker came back. */
  typeAndSync(line: string, signal: AbortSignal): Promise<void>;
}

/** The run line typed: its token, its command, its output file. */
export interface TypedRun {
  token: string;
  command: string;
  file: string;
  /** The line's echo was read already (with the set-up's marker, on the same line). */
  echoed: boolean;
}

export type OutputTransfer = Extract<RunTransfer, { kind: "output" }>;

/**
 * Receives the transfer that the run line with `run.token` started: again from
 * the file when it arrived damaged, and after defining the transfer function
 * again when the shell lost it (the command ran `exec sh`, `su`…).
 */
export async function receiveOutput(
  context: TransferContext,
  run: TypedRun,
  signal: AbortSignal,
): Promise<OutputTransfer> {
  const { terminal, settings } = context;
  const { command, file } = run;
  const maxOutputBytes = settings.maxOutputBytes;
  let token = run.token;
  let redefined = false;
  let transfer: RunTransfer;
  for (let attempt = 1; ; ) {
    try {
      // Only the first line's echo may have been read (with the set-up's marker).
      transfer = await receive(context, token, command, run.echoed && token === run.token, signal);
    } catch (error) {
      if (!(error instanceof MissingFunctionSignal) || redefined) throw error;
      // The command ran, but in a shell that lacks our function.
      redefined = true;
      terminal.note("the shell lost the transfer function: defining it again");
      await context.typeAndSync(TRANSFER_FUNCTION, signal);
      token = newToken();
      await terminal.write(`${transferScript(token, file, maxOutputBytes)}\n`);
      continue;
    }
    if (transfer.kind !== "corrupt" || attempt >= TRANSFER_ATTEMPTS) break;
    attempt++;
    terminal.note(`output transfer damaged (${transfer.reason}): sending it again`);
    debug("console: output transfer damaged (%s), attempt %d", transfer.reason, attempt);
    token = newToken();
    await terminal.write(`${transferScript(token, file, maxOutputBytes)}\n`);
  }
  if (transfer.kind === "corrupt")
    throw new ConsoleOutputError(
      `the output of ${JSON.stringify(command)} was damaged on the console ${TRANSFER_ATTEMPTS} times: ${transfer.reason}`,
      { reason: "corrupt", command, exitCode: transfer.exitCode ?? -1 },
    );
  if (transfer.kind === "lost")
    throw new ConsoleOutputError(
      `the output file of ${JSON.stringify(command)} was missing (the command removed it, or ${settings.scratchDirectory} is not writable); exit code ${transfer.exitCode}`,
      { reason: "lost", command, exitCode: transfer.exitCode },
    );
  return transfer;
}

function receive(
  context: TransferContext,
  token: string,
  command: string,
  echoed: boolean,
  signal: AbortSignal,
): Promise<RunTransfer> {
  const { terminal, settings } = context;
  const parser = runParser({
    token,
    echoed,
    maxOutputBytes: settings.maxOutputBytes,
    filterKernelMessages: settings.filterKernelMessages,
    loginPrompt: settings.loginPrompt,
    onKernelMessage: (message) => {
      terminal.note(`kernel message cut out of the output: ${message.trimEnd()}`);
      debug("console: kernel message cut out: %s", preview(message));
    },
  });
  return terminal.buffer.wait(`run ${preview(command, 80)}`, (view) => parser(view.text), {
    signal,
  });
}

/** A received transfer as `run()` resolves it. */
export function commandResult(transfer: OutputTransfer, started: number): CommandResult {
  return {
    exitCode: transfer.exitCode,
    signal: null,
    output: transfer.output.toString("utf8"),
    outputBytes: transfer.output,
    outputTruncated: transfer.truncated,
    durationMs: performance.now() - started,
  };
}
