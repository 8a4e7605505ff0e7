import { checkObject, checkOptionKeys, checkTimeoutMs, InvalidArgumentError } from "@qemu-kvm/core";
import { checkGuestIdentity, type GuestIdentity, qemuDmiVendor } from "../guest-identity.js";
import { checkInteger, checkIntervalMs } from "../options.js";
import { checkScratchPath } from "./run-protocol.js";

export interface SerialConsoleOptions {
  /** The stream is QEMU's `telnet=on` socket: negotiate, strip and escape IAC. Default false (unix socket, raw). */
  telnet?: boolean;
  /** Default `root`. */
  user?: string;
  /** Sent when the guest asks for it after the user name; never shown in transcripts or errors. */
  password?: string;
  /** A login prompt at the end of the output. Default `/login: *$/`. */
  loginPrompt?: RegExp;
  /** A password prompt at the end of the output. Default `/[Pp]assword: *$/`. */
  passwordPrompt?: RegExp;
  /** A shell prompt at the end of the output. Default `/[#$] *$/`. Checked with a marker before it is trusted. */
  shellPrompt?: RegExp;
  /** The guest refused the login. Default `/Login incorrect|Authentication fail|Permission denied/i`. */
  loginFailed?: RegExp;
  /**
   * Checked after every login (see `GuestIdentity`); `false` to skip.
   * Default `qemuDmiVendor()`.
   */
  guestIdentity?: GuestIdentity | false;
  /** Where `run()` keeps a command's output in the guest until it is transferred. Default `/tmp`. */
  scratchDirectory?: string;
  /** Default deadline of `run()` and the helpers built on it. Default 60_000. */
  commandTimeoutMs?: number;
  /** Default deadline of `login()`/`ready()`. Default 120_000. */
  loginTimeoutMs?: number;
  /**
   * While logging in, after this long without any output, send a newline
   * (every third time Ctrl-C) to make the guest show a prompt. Default 2_000.
   */
  nudgeIntervalMs?: number;
  /** Unread characters kept for `expect()` (see `ExpectBuffer`). Default 1 MiB. */
  bufferSize?: number;
  /** Characters of transcript kept. Default 256 KiB. */
  transcriptSize?: number;
  /** Bytes of a command's output transferred; the rest is counted, not sent. Default 16 MiB. */
  maxOutputBytes?: number;
  /** Cut `[ seconds.micros] …` kernel messages out of what login and `run()` read. Default true. */
  filterKernelMessages?: boolean;
  /** How long a timed-out command may take to give the prompt back after Ctrl-C (then Ctrl-\). Default 15_000. */
  recoveryTimeoutMs?: number;
  /**
   * Default deadline of `logout()`, and how long `close()` waits for the login
   * prompt after `exit` (busybox init respawns getty about 1 s after the shell
   * exits). Default 10_000.
   */
  logoutTimeoutMs?: number;
}

/** Options of `SerialConsole.close()`. */
export interface SerialConsoleCloseOptions {
  /**
   * Log out a logged-in shell before closing, so that the next client of the
   * console never finds a shell it did not open. Default true.
   */
  logout?: boolean;
}

/** The options with their defaults filled in, checked. */
export interface ConsoleSettings {
  readonly telnet: boolean;
  readonly user: string;
  readonly password: string | undefined;
  readonly loginPrompt: RegExp;
  readonly passwordPrompt: RegExp;
  readonly shellPrompt: RegExp;
  readonly loginFailed: RegExp;
  readonly guestIdentity: GuestIdentity | false;
  /** Without a trailing `/` (but `/` itself). */
  readonly scratchDirectory: string;
  readonly commandTimeoutMs: number;
  readonly loginTimeoutMs: number;
  readonly nudgeIntervalMs: number;
  readonly bufferSize: number;
  readonly transcriptSize: number;
  readonly maxOutputBytes: number;
  readonly filterKernelMessages: boolean;
  readonly recoveryTimeoutMs: number;
  readonly logoutTimeoutMs: number;
}

const DEFAULTS = {
  telnet: false,
  user: "root",
  loginPrompt: /login: *$/,
  passwordPrompt: /[Pp]assword: *$/,
  shellPrompt: /[#$] *$/,
  loginFailed: /Login incorrect|Authentication fail|Permission denied/i,
  scratchDirectory: "/tmp",
  commandTimeoutMs: 60_000,
  loginTimeoutMs: 120_000,
  nudgeIntervalMs: 2_000,
  bufferSize: 1024 * 1024,
  transcriptSize: 256 * 1024,
  maxOutputBytes: 16 * 1024 * 1024,
  filterKernelMessages: true,
  recoveryTimeoutMs: 15_000,
  logoutTimeoutMs: 10_000,
} as const;

/** Default deadline of `expect()`, `write()` and `sendLine()`. */
export const EXPECT_TIMEOUT_MS = 30_000;

const KNOWN_KEYS = Object.keys(DEFAULTS).concat("password", "guestIdentity");
const PATTERN_KEYS = ["loginPrompt", "passwordPrompt", "shellPrompt", "loginFailed"] as const;
const SIZE_KEYS = ["bufferSize", "transcriptSize", "maxOutputBytes"] as const;
const FLAG_KEYS = ["telnet", "filterKernelMessages"] as const;

/** Checks `options` (throws `ERR_INVALID_ARGUMENT` naming the first bad one) and fills in the defaults. */
export function consoleSettings(options: SerialConsoleOptions | undefined): ConsoleSettings {
  if (options === undefined) return settingsOf({});
  checkObject(options, "options");
  checkOptionKeys(options, KNOWN_KEYS);
  for (const key of [
    "commandTimeoutMs",
    "loginTimeoutMs",
    "recoveryTimeoutMs",
    "logoutTimeoutMs",
  ] as const)
    checkTimeoutMs(options[key], `options.${key}`);
  checkIntervalMs(options.nudgeIntervalMs, "options.nudgeIntervalMs");
  for (const key of SIZE_KEYS) checkInteger(options[key], `options.${key}`, 1024);
  for (const key of PATTERN_KEYS) {
    const value = options[key];
    if (value !== undefined && !(value instanceof RegExp))
      throw new InvalidArgumentError(`options.${key}`, "a RegExp", value);
  }
  for (const key of FLAG_KEYS) {
    const value = options[key];
    if (value !== undefined && typeof value !== "boolean")
      throw new InvalidArgumentError(`options.${key}`, "a boolean", value);
  }
  const user = options.user;
  if (
    user !== undefined &&
    (typeof user !== "string" || !/^[A-Za-z0-9._][A-Za-z0-9._-]*$/.test(user))
  )
    throw new InvalidArgumentError("options.user", "a plain user name", user);
  const password = options.password;
  if (password !== undefined && (typeof password !== "string" || /[\r\n\x00]/.test(password)))
    // The value itself is never shown: it is a password.
    throw new InvalidArgumentError("options.password", "a string without CR, LF or NUL", "…", {
      problem: "must be a string without CR, LF or NUL",
    });
  checkGuestIdentity(options.guestIdentity, "options.guestIdentity");
  if (options.scratchDirectory !== undefined) checkScratchPath(options.scratchDirectory);
  return settingsOf(options);
}

function settingsOf(options: SerialConsoleOptions): ConsoleSettings {
  const scratch = options.scratchDirectory ?? DEFAULTS.scratchDirectory;
  return {
    ...DEFAULTS,
    ...withoutUndefined(options),
    password: options.password,
    guestIdentity: options.guestIdentity ?? qemuDmiVendor(),
    scratchDirectory: scratch.replace(/\/$/, "") || "/",
  };
}

function withoutUndefined<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(object).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}

/** Checks `close()`'s options (throws `ERR_INVALID_ARGUMENT`); true to log out. */
export function closeOptions(options: SerialConsoleCloseOptions | undefined): boolean {
  if (options === undefined) return true;
  checkObject(options, "options");
  checkOptionKeys(options, ["logout"]);
  const logout = options.logout;
  if (logout !== undefined && typeof logout !== "boolean")
    throw new InvalidArgumentError("options.logout", "a boolean", logout);
  return logout ?? true;
}
