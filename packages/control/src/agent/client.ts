import type { Duplex } from "node:stream";
import {
  type CallOptions,
  type CloseInfo,
  checkCallOptions,
  checkObject,
  excerpt,
  InvalidArgumentError,
  withDeadline,
} from "@qemu-kvm/core";
import type {
  CommandResult,
  ControlChannel,
  NetworkInterface,
  RunOptions,
  WaitForNetworkOptions,
} from "../control-channel.js";
import { operations } from "../diagnostics.js";
import { pollNetwork } from "../network.js";
import { checkText } from "../options.js";
import { AgentConnection } from "./connection.js";
import { GuestAgentClosedError } from "./errors.js";
import {
  type AgentCommands,
  commandResult,
  type GuestExecOptions,
  type GuestExecResult,
  guestExec,
} from "./exec.js";
import {
  checkHandle,
  type GuestWriteFileOptions,
  openFile,
  readFile,
  readFileChunk,
  writeFile,
  writeFileChunk,
} from "./files.js";
import {
  agentInfo,
  type GuestAgentInfo,
  type GuestInfoReply,
  type GuestOsInfo,
  type NetworkInterfacesReply,
  networkInterfaces,
  osInfo,
} from "./info.js";
import {
  type AgentSettings,
  agentSettings,
  type ConnectGuestAgentOptions,
  DEFAULT_CONNECT_TIMEOUT_MS,
} from "./options.js";

export type ShutdownMode = "powerdown" | "halt" | "reboot";

/** A QEMU guest agent (qemu-ga) connection. Create it with {@link connectGuestAgent}. */
export interface GuestAgentClient extends ControlChannel {
  readonly kind: "guest-agent";
  /**
   * Sends one agent command and resolves with its `return` value. Commands go
   * on the wire one at a time, in call order (the agent works serially and its
   * replies are matched by id). Rejects with `ERR_QGA_COMMAND`, `ERR_QGA_CLOSED`,
   * `ERR_QGA_PROTOCOL`, `ERR_TIMEOUT`, `ERR_ABORTED`. Traced as `qga` (the
   * command as target) on `qemu-kvm:control`.
   */
  execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<T>;
  /** `guest-sync-delimited` preceded by a 0xFF flush: stale replies and half-read input are discarded. */
  sync(options?: CallOptions): Promise<void>;
  /** `guest-ping`. */
  ping(options?: CallOptions): Promise<void>;
  /** Synchronizes (if needed) and pings. */
  ready(options?: CallOptions): Promise<void>;
  /** `guest-info`: the agent's version and commands. */
  info(options?: CallOptions): Promise<GuestAgentInfo>;
  /**
   * `guest-exec` of `path` with `args` (no shell), stdout and stderr captured,
   * then `guest-exec-status` polled with back-off until it exits. Default
   * deadline `commandTimeoutMs`; see `killOnTimeout`.
   */
  exec(
    path: string,
    args?: readonly string[],
    options?: GuestExecOptions,
  ): Promise<GuestExecResult>;
  /**
   * `exec("/bin/sh", ["-c", command])` with stderr into stdout (`output`, in
   * order). Each run is a fresh shell in `/`. Traced as `run` on `qemu-kvm:control`.
   */
  run(command: string, options?: RunOptions): Promise<CommandResult>;
  /** The whole file, read in `fileChunkBytes` pieces (open, read…, close). */
  readFile(path: string, options?: CallOptions): Promise<Buffer>;
  /** Writes `data` in `fileChunkBytes` pieces (open `w`, or `a` with `append`, write…, close). */
  writeFile(
    path: string,
    data: string | Uint8Array,
    options?: GuestWriteFileOptions,
  ): Promise<void>;
  /** `guest-file-open` (`mode` as fopen(), default `r`): a handle. */
  openFile(path: string, mode?: string, options?: CallOptions): Promise<number>;
  /** `guest-file-read` of at most `count` bytes (default `fileChunkBytes`). */
  readFileChunk(
    handle: number,
    count?: number,
    options?: CallOptions,
  ): Promise<{ data: Buffer; eof: boolean }>;
  /** `guest-file-write`: the bytes written. */
  writeFileChunk(handle: number, data: Uint8Array, options?: CallOptions): Promise<number>;
  /** `guest-file-close`. */
  closeFile(handle: number, options?: CallOptions): Promise<void>;
  /** `guest-network-get-interfaces`. */
  networkInterfaces(options?: CallOptions): Promise<NetworkInterface[]>;
  /** `guest-get-osinfo` (os-release fields are missing when the guest has no /etc/os-release). */
  osInfo(options?: CallOptions): Promise<GuestOsInfo>;
  /**
   * `guest-shutdown`. The agent answers only on failure, so this resolves once
   * the agent has taken the request: it answered the sync sent right after it
   * without an error, or the channel closed. Rejects with `ERR_QGA_COMMAND` if
   * the agent could not run the shutdown. Await `closed` for QEMU's exit.
   */
  shutdown(mode?: ShutdownMode, options?: CallOptions): Promise<void>;
  /** `shutdown("powerdown")`. */
  powerdown(options?: CallOptions): Promise<void>;
  /** `shutdown("reboot")`: the channel stays open; the agent answers again once the guest is back. */
  reboot(options?: CallOptions): Promise<void>;
}

const SHUTDOWN_MODES: readonly string[] = ["powerdown", "halt", "reboot"];

/**
 * Connects a guest agent client over `stream` (QEMU's socket chardev for the
 * `org.qemu.guest_agent.0` virtio-serial port, or any duplex carrying it) and
 * resolves once the agent answered `guest-sync-delimited`. If that fails
 * (`timeoutMs: 0` included: nothing is sent then), the stream is destroyed;
 * invalid options throw `ERR_INVALID_ARGUMENT` at once and leave the stream to
 * the caller. Traced as `connect` on `qemu-kvm:control`.
 */
export function connectGuestAgent(
  stream: Duplex,
  options?: ConnectGuestAgentOptions,
): Promise<GuestAgentClient> {
  const { call, settings } = agentSettings(options);
  const defaultTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS;
  return operations.trace("connect", "guest agent", async () => {
    const client = new DefaultGuestAgentClient(stream, settings);
    try {
      await withDeadline("guest agent connect", call, { defaultTimeoutMs }, (signal) =>
        client.connection.connect(signal),
      );
    } catch (error) {
      client.destroy(error as Error);
      throw error;
    }
    return client;
  });
}

class DefaultGuestAgentClient implements GuestAgentClient, AgentCommands {
  readonly kind = "guest-agent" as const;
  readonly connection: AgentConnection;
  readonly #settings: AgentSettings;

  constructor(stream: Duplex, settings: AgentSettings) {
    this.#settings = settings;
    this.connection = new AgentConnection(stream, settings);
  }

  get closed(): Promise<CloseInfo> {
    return this.connection.closed;
  }

  get isClosed(): boolean {
    return this.connection.closeInfo !== undefined;
  }

  get isClosing(): boolean {
    return this.connection.isClosing;
  }

  execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<T> {
    checkText(command, "command", { nonEmpty: true });
    if (command === "guest-sync-delimited" || command === "guest-sync")
      throw new InvalidArgumentError("command", "an agent command other than a sync", command, {
        problem: "is a sync: use sync()",
      });
    if (args !== undefined) checkObject(args, "args");
    const checked = checkCallOptions(options);
    return operations.trace(
      "qga",
      command,
      () => this.connection.request(command, args, checked, true) as Promise<T>,
    );
  }

  sync(options?: CallOptions): Promise<void> {
    const checked = checkCallOptions(options);
    const defaultTimeoutMs = this.#settings.commandTimeoutMs;
    return withDeadline("guest agent sync", checked, { defaultTimeoutMs }, async (signal) => {
      this.connection.requireSync();
      // guest-ping is harmless and proves the agent answers after the sync.
      const inner = { signal, timeoutMs: Number.POSITIVE_INFINITY };
      await this.connection.request("guest-ping", undefined, inner, true);
    });
  }

  ping(options?: CallOptions): Promise<void> {
    return this.execute("guest-ping", undefined, options).then(() => {});
  }

  ready(options?: CallOptions): Promise<void> {
    return this.ping(options);
  }

  info(options?: CallOptions): Promise<GuestAgentInfo> {
    return this.execute<GuestInfoReply>("guest-info", undefined, options).then(agentInfo);
  }

  exec(
    path: string,
    args?: readonly string[],
    options?: GuestExecOptions,
  ): Promise<GuestExecResult> {
    return guestExec(this, this.#settings, path, args, options).then(({ result }) => result);
  }

  run(command: string, options?: RunOptions): Promise<CommandResult> {
    checkText(command, "command");
    const checked = checkCallOptions(options);
    const args = ["-c", `exec 2>&1\n${command}`];
    // Everything is checked by now: nothing throws inside the trace.
    return operations.trace("run", excerpt(command, 80), () =>
      guestExec(this, this.#settings, "/bin/sh", args, checked).then(commandResult),
    );
  }

  openFile(path: string, mode = "r", options?: CallOptions): Promise<number> {
    return openFile(this, path, mode, options);
  }

  readFileChunk(
    handle: number,
    count = this.#settings.fileChunkBytes,
    options?: CallOptions,
  ): Promise<{ data: Buffer; eof: boolean }> {
    return readFileChunk(this, handle, count, options);
  }

  writeFileChunk(handle: number, data: Uint8Array, options?: CallOptions): Promise<number> {
    return writeFileChunk(this, handle, data, options);
  }

  closeFile(handle: number, options?: CallOptions): Promise<void> {
    checkHandle(handle);
    return this.execute("guest-file-close", { handle }, options).then(() => {});
  }

  readFile(path: string, options?: CallOptions): Promise<Buffer> {
    return readFile(this, this.#settings, path, options);
  }

  writeFile(
    path: string,
    data: string | Uint8Array,
    options?: GuestWriteFileOptions,
  ): Promise<void> {
    return writeFile(this, this.#settings, path, data, options);
  }

  networkInterfaces(options?: CallOptions): Promise<NetworkInterface[]> {
    return this.execute<NetworkInterfacesReply>(
      "guest-network-get-interfaces",
      undefined,
      options,
    ).then(networkInterfaces);
  }

  waitForNetwork(options?: WaitForNetworkOptions): Promise<NetworkInterface[]> {
    return pollNetwork(this, options, this.#settings.commandTimeoutMs);
  }

  osInfo(options?: CallOptions): Promise<GuestOsInfo> {
    return this.execute<Record<string, unknown>>("guest-get-osinfo", undefined, options).then(
      osInfo,
    );
  }

  shutdown(mode: ShutdownMode = "powerdown", options?: CallOptions): Promise<void> {
    if (!SHUTDOWN_MODES.includes(mode))
      throw new InvalidArgumentError("mode", `one of ${SHUTDOWN_MODES.join(", ")}`, mode);
    const checked = checkCallOptions(options);
    return operations.trace("qga", "guest-shutdown", () =>
      this.connection.request("guest-shutdown", { mode }, checked, false).then(
        () => {},
        (error: unknown) => {
          // The guest going down closes the channel: that is what was asked for.
          if (GuestAgentClosedError.isInstance(error) && this.connection.closeInfo?.by === "peer")
            return;
          throw error;
        },
      ),
    );
  }

  powerdown(options?: CallOptions): Promise<void> {
    return this.shutdown("powerdown", options);
  }

  reboot(options?: CallOptions): Promise<void> {
    return this.shutdown("reboot", options);
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  destroy(reason?: Error): void {
    this.connection.destroy(reason);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
