/**
 * Argument and option checks, the same for both transports: each throws core's
 * `InvalidArgumentError` (`ERR_INVALID_ARGUMENT`, with the `field`)
 * synchronously, before anything runs.
 */
import {
  checkCallOptions,
  checkObject,
  InvalidArgumentError,
  linuxSignalName,
} from "@qemu-kvm/core";
import type { EnvChanges, ExecOptions, ProcessOptions, Signal, SpawnOptions } from "../host.js";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Throws unless `value` is a string a process can receive unchanged: no NUL
 * byte (a C string ends there), no lone UTF-16 surrogate (it would arrive
 * changed as UTF-8). `secret`: the message does not show the value (an
 * environment value may be a password).
 */
export function checkValue(value: unknown, field: string, secret = false): asserts value is string {
  if (typeof value !== "string") throw new InvalidArgumentError(field, "a string", value);
  const shown = secret ? `${value.length} characters, not shown` : value;
  if (value.includes("\0"))
    throw new InvalidArgumentError(field, "a string without NUL bytes", shown, {
      problem: "contains a NUL byte, which no process can receive",
    });
  if (LONE_SURROGATE.test(value))
    throw new InvalidArgumentError(field, "well-formed Unicode", shown, {
      problem: "is not well-formed Unicode (a lone surrogate would arrive changed)",
    });
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Validates what `exec`/`spawn` were given, before anything runs; returns the argv. */
export function checkCommand(
  file: unknown,
  args: unknown,
  options: { env?: EnvChanges; cwd?: string } = {},
): readonly string[] {
  checkValue(file, "file");
  if (file === "") throw new InvalidArgumentError("file", "a program name or path", file);
  if (!Array.isArray(args)) throw new InvalidArgumentError("args", "an array of strings", args);
  args.forEach((arg, index) => {
    checkValue(arg, `args[${index}]`);
  });
  if (options.cwd !== undefined) {
    checkValue(options.cwd, "cwd");
    if (options.cwd === "") throw new InvalidArgumentError("cwd", "a directory path", "");
  }
  if (options.env !== undefined) {
    checkObject(options.env, "env");
    for (const [name, value] of Object.entries(options.env)) {
      if (!ENV_NAME.test(name))
        throw new InvalidArgumentError(`env.${name}`, "a variable name", name, {
          problem: "is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)",
        });
      if (value !== undefined) checkValue(value, `env.${name}`, true);
    }
  }
  return [file, ...(args as string[])];
}

/** Throws unless `pid` is a positive safe integer (0 and -1 would signal groups). */
export function checkPid(pid: unknown): asserts pid is number {
  if (typeof pid !== "number" || !Number.isSafeInteger(pid) || pid <= 0)
    throw new InvalidArgumentError("pid", "a positive integer", pid);
}

/** The 31 standard Linux signals, by name (hosts are Linux, locally and over SSH). */
const SIGNAL_NAMES = new Set(
  Array.from({ length: 31 }, (_, index) => linuxSignalName(index + 1)).filter(
    (name): name is NodeJS.Signals => name !== undefined,
  ),
);

/** Linux's other names for two of them. */
const SIGNAL_ALIASES: Readonly<Record<string, NodeJS.Signals>> = {
  SIGIOT: "SIGABRT",
  SIGPOLL: "SIGIO",
};

/** `"SIGTERM"` for `"SIGTERM"`, `"TERM"` or `15`; throws for anything else. */
export function signalName(signal: Signal | string): NodeJS.Signals {
  const name =
    typeof signal === "number"
      ? linuxSignalName(signal)
      : typeof signal === "string"
        ? ((signal.startsWith("SIG") ? signal : `SIG${signal}`) as NodeJS.Signals)
        : undefined;
  const canonical = name === undefined ? undefined : (SIGNAL_ALIASES[name] ?? name);
  if (canonical === undefined || !SIGNAL_NAMES.has(canonical))
    throw new InvalidArgumentError("signal", "a Linux signal name or number (1-31)", signal);
  return canonical;
}

/** Throws unless `mode` is absent or permission bits (0 to 0o7777). */
export function checkMode(mode: unknown): void {
  if (mode === undefined) return;
  if (typeof mode !== "number" || !Number.isInteger(mode) || mode < 0 || mode > 0o7777)
    throw new InvalidArgumentError("mode", "an integer from 0 to 0o7777", mode);
}

/** Throws unless `value` is absent or a number of bytes (finite: every buffer is bounded). */
export function checkByteCount(value: unknown, field: string): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0)
    throw new InvalidArgumentError(field, "a finite number of bytes ≥ 0", value);
}

/** Throws unless `value` is absent or one of `allowed`. */
export function checkOneOf(value: unknown, allowed: readonly unknown[], field: string): void {
  if (value === undefined || allowed.includes(value)) return;
  throw new InvalidArgumentError(
    field,
    allowed.map((item) => JSON.stringify(item)).join(" or "),
    value,
  );
}

/** Throws unless `value` is absent or a string or bytes. */
export function checkData(value: unknown, field: string): void {
  if (value === undefined || typeof value === "string" || value instanceof Uint8Array) return;
  throw new InvalidArgumentError(field, "a string or a Uint8Array", value);
}

/** Throws unless `value` is absent or a delay in milliseconds (`Infinity`: never). */
function checkDelayMs(value: unknown, field: string): void {
  if (value === undefined) return;
  if (typeof value !== "number" || Number.isNaN(value) || value < 0)
    throw new InvalidArgumentError(field, "a number of milliseconds ≥ 0, or Infinity", value);
}

const EXEC_KEYS = ["input", "env", "cwd", "reject", "encoding", "maxBuffer", "forceKillAfterMs"];

/** `exec`'s options, checked (the command's `env` and `cwd` are checked with it). */
export function checkExecOptions(options: ExecOptions | undefined): ExecOptions {
  const checked: ExecOptions = checkCallOptions(options, EXEC_KEYS);
  checkByteCount(checked.maxBuffer, "maxBuffer");
  checkDelayMs(checked.forceKillAfterMs, "forceKillAfterMs");
  checkData(checked.input, "input");
  checkOneOf(checked.encoding, ["utf8", "buffer"], "encoding");
  checkOneOf(checked.reject, [true, false], "reject");
  return checked;
}

/** `spawn`'s options, checked. */
export function checkSpawnOptions(options: SpawnOptions | undefined): SpawnOptions {
  const checked: SpawnOptions = checkCallOptions(options, ["env", "cwd", "forceKillAfterMs"]);
  checkDelayMs(checked.forceKillAfterMs, "forceKillAfterMs");
  return checked;
}

/** `isAlive`'s and `kill`'s options, checked. */
export function checkProcessOptions(options: ProcessOptions | undefined): ProcessOptions {
  const checked: ProcessOptions = checkCallOptions(options, ["startTime"]);
  if (checked.startTime !== undefined && typeof checked.startTime !== "bigint")
    throw new InvalidArgumentError("startTime", "a bigint (from processInfo)", checked.startTime);
  return checked;
}
