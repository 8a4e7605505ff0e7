import type { CallOptions, CloseInfo } from "@qemu-kvm/core";

/** One address of a guest network interface. */
export interface IpAddress {
  family: "ipv4" | "ipv6";
  address: string;
  /** e.g. 24 for a /24. */
  prefixLength: number;
}

/** A guest network interface, the same from either channel. */
export interface NetworkInterface {
  /** e.g. `eth0`, `lo`. */
  name: string;
  /** `52:54:00:12:34:56`, lower case; undefined when the guest reports none. */
  macAddress: string | undefined;
  addresses: IpAddress[];
}

/** What `run()` resolves with, on either channel. A failing command resolves too: check `exitCode`. */
export interface CommandResult {
  /**
   * The exit status as a shell reports it: the exit code, or 128 + N when the
   * command was killed by signal N.
   */
  exitCode: number;
  /**
   * The name of the signal that killed the command, when the channel can tell
   * (the guest agent); null after a normal exit, or when the channel cannot
   * tell (the serial console: a shell reports 128 + N either way).
   */
  signal: NodeJS.Signals | null;
  /** stdout and stderr, interleaved as written, decoded as UTF-8. */
  output: string;
  /** The same, byte for byte. */
  outputBytes: Buffer;
  /** True when the command printed more than the channel's output limit; `output` has the start. */
  outputTruncated: boolean;
  durationMs: number;
}

export interface RunOptions extends CallOptions {}

export interface WaitForNetworkOptions extends CallOptions {
  /** Wait for exactly this address (e.g. `10.0.2.15`). Default: any IPv4 address outside 127.0.0.0/8. */
  address?: string;
  /** Only look at this interface (e.g. `eth0`). */
  interfaceName?: string;
}

/**
 * What the facade and test suites use to drive a guest, whichever way they
 * reach it: a serial console (telnet or unix socket) or the QEMU guest agent.
 * Code written against this interface switches channels without changes.
 */
export interface ControlChannel extends AsyncDisposable {
  readonly kind: "serial-console" | "guest-agent";
  /** Settles (never rejects) when the channel is over. */
  readonly closed: Promise<CloseInfo>;
  readonly isClosed: boolean;
  /**
   * Resolves once the guest answers on this channel: the console logs in (or
   * finds its shell) and checks the guest's identity; the agent synchronizes
   * and answers `guest-ping`. Call it again to check the guest still answers.
   */
  ready(options?: CallOptions): Promise<void>;
  /**
   * Runs `command` with the guest's `/bin/sh` and resolves with its exit
   * status and output. On timeout or abort the command is stopped (console:
   * Ctrl-C; agent: SIGKILL to its process tree) and the channel stays usable.
   */
  run(command: string, options?: RunOptions): Promise<CommandResult>;
  /** The guest's network interfaces and their addresses. */
  networkInterfaces(options?: CallOptions): Promise<NetworkInterface[]>;
  /**
   * Resolves with the interfaces once the guest has the address asked for
   * (default: any IPv4 address outside 127.0.0.0/8). The guest announces
   * nothing, so this asks again with a growing pause (up to 1 s).
   */
  waitForNetwork(options?: WaitForNetworkOptions): Promise<NetworkInterface[]>;
  /**
   * Asks the guest to power off. Resolves once the guest accepted the request;
   * await `closed` to know that QEMU has exited (it closes the channel).
   */
  powerdown(options?: CallOptions): Promise<void>;
  /**
   * Graceful: lets queued operations finish, then closes the stream (the serial
   * console logs a logged-in shell out first: see `SerialConsole.close`).
   */
  close(): Promise<void>;
  /** Abrupt: everything pending rejects, the stream is destroyed. */
  destroy(reason?: Error): void;
}
