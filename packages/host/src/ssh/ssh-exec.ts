import type { Deadline } from "@qemu-kvm/core";
import { HostMaxBufferError } from "../errors/command-errors.js";
import { describeArgv } from "../errors/describe.js";
import type { ExecOptions } from "../host.js";
import {
  DEFAULT_FORCE_KILL_AFTER_MS,
  DEFAULT_MAX_BUFFER,
  ExecStopped,
} from "../shared/command-host.js";
import { debug } from "../shared/observe.js";
import type { CommandSpec, RawExecResult } from "../shared/transport.js";
import type { SshConnection } from "./connection.js";
import { openRemote, RemoteCommand } from "./remote-command.js";
import { remoteCommand } from "./remote-scripts.js";

/** A command's output, kept up to `maxBuffer` bytes per stream; beyond, `onOverflow` once. */
class OutputCollector {
  readonly stdout: Buffer[] = [];
  readonly stderr: Buffer[] = [];
  overflow: "stdout" | "stderr" | undefined;
  readonly ended: Promise<unknown>;

  constructor(remote: RemoteCommand, maxBuffer: number, onOverflow: () => void) {
    for (const stream of ["stdout", "stderr"] as const) {
      let size = 0;
      remote[stream].on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBuffer) {
          this.overflow ??= stream;
          onOverflow();
          return;
        }
        this[stream].push(chunk);
      });
    }
    this.ended = Promise.all(
      [remote.stdout, remote.stderr].map(
        (stream) => new Promise((resolve) => stream.once("end", resolve)),
      ),
    );
  }

  stopped(): ExecStopped {
    return new ExecStopped(Buffer.concat(this.stdout), Buffer.concat(this.stderr));
  }
}

/**
 * Runs a command over SSH in its own session channel and collects its output.
 * When `deadline` stops, the command and its process group are stopped (see
 * `RemoteCommand.terminate`) and it throws `ExecStopped` with the output so far.
 */
export async function execRemote(
  connection: SshConnection,
  spec: CommandSpec,
  options: ExecOptions,
  deadline: Deadline,
): Promise<RawExecResult> {
  const command = remoteCommand(spec.argv, spec);
  const forceKillAfterMs = options.forceKillAfterMs ?? DEFAULT_FORCE_KILL_AFTER_MS;
  const maxBuffer = options.maxBuffer ?? DEFAULT_MAX_BUFFER;
  debug("ssh %s: exec %s", connection.name, describeArgv(spec.argv));
  const remote = new RemoteCommand(connection, spec.argv);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void remote.terminate(forceKillAfterMs);
  };
  const output = new OutputCollector(remote, maxBuffer, stop);
  remote.stdin.end(options.input ?? "");
  deadline.signal.addEventListener("abort", stop, { once: true });
  try {
    await openRemote(remote, command, { signal: deadline.signal, forceKillAfterMs });
    const header = await remote.header;
    const failure = remote.spawnFailure(header);
    // After a stop, wait for the channel to close (the stop closes it if need be).
    const exit = await remote.exit.catch((error: unknown) => {
      if (deadline.stopped) return undefined;
      throw error;
    });
    await output.ended;
    await remote.closed;
    if (deadline.stopped || !exit) throw output.stopped();
    if (output.overflow)
      throw new HostMaxBufferError({
        argv: spec.argv,
        stream: output.overflow,
        maxBuffer,
        host: connection.name,
      });
    if (failure) throw failure;
    return {
      stdout: Buffer.concat(output.stdout),
      stderr: Buffer.concat(output.stderr),
      exitCode: exit.exitCode,
      signal: exit.signal,
    };
  } catch (error) {
    if (deadline.stopped && !(error instanceof ExecStopped)) {
      await remote.closed;
      throw output.stopped();
    }
    throw error;
  } finally {
    deadline.signal.removeEventListener("abort", stop);
  }
}
