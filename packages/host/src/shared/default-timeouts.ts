/**
 * The deadline of each host operation when its call gives no `timeoutMs`: a
 * live but stuck peer (a command that never ends, an SFTP server blocked on a
 * FIFO, a forwarded connection nobody answers) fails the call with
 * `ERR_TIMEOUT`, never hangs it. `timeoutMs: Infinity` still waits for ever.
 */
import { checkObject, checkOptionKeys, checkTimeoutMs } from "@qemu-kvm/core";

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/**
 * The defaults, in milliseconds, by operation (the `Host` method's name). A
 * spawned process has none: it lives as long as it needs (bound it with its
 * own `timeoutMs`, or `stop()` it). Each SSH connection has `connectTimeoutMs`.
 */
export const DEFAULT_TIMEOUTS = Object.freeze({
  exec: 10 * MINUTE,
  waitForExit: 10 * MINUTE,
  readFile: 5 * MINUTE,
  writeFile: 5 * MINUTE,
  putFile: 60 * MINUTE,
  remove: 5 * MINUTE,
  makePrivateDir: MINUTE,
  makeDir: MINUTE,
  readDir: MINUTE,
  exists: MINUTE,
  stat: MINUTE,
  rename: MINUTE,
  connectUnix: 30 * SECOND,
  connectTcp: 30 * SECOND,
  processInfo: MINUTE,
  isAlive: MINUTE,
  kill: MINUTE,
  architecture: MINUTE,
});

/** An operation with a default deadline. */
export type TimedOperation = keyof typeof DEFAULT_TIMEOUTS;

/**
 * Other defaults for some operations of one host (the rest keep
 * {@link DEFAULT_TIMEOUTS}), e.g. `{ exec: 30 * 60_000 }`, or
 * `{ waitForExit: Infinity }`. Each value follows the deadline rule.
 */
export type DefaultTimeouts = Partial<Record<TimedOperation, number>>;

const OPERATIONS = Object.keys(DEFAULT_TIMEOUTS) as TimedOperation[];

/**
 * The host's table: `given` over {@link DEFAULT_TIMEOUTS}, checked
 * (`ERR_INVALID_ARGUMENT` naming `defaultTimeouts.<operation>`).
 */
export function resolveDefaultTimeouts(
  given: DefaultTimeouts | undefined,
  field = "defaultTimeouts",
): Readonly<Record<TimedOperation, number>> {
  if (given === undefined) return DEFAULT_TIMEOUTS;
  checkObject(given, field);
  checkOptionKeys(given, OPERATIONS, field);
  for (const operation of OPERATIONS) checkTimeoutMs(given[operation], `${field}.${operation}`);
  return Object.freeze({ ...DEFAULT_TIMEOUTS, ...definedOnly(given) });
}

function definedOnly(given: DefaultTimeouts): DefaultTimeouts {
  return Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined));
}

/** Added to a timeout's message when the deadline was the default, not the caller's. */
export function defaultHint(operation: TimedOperation): string {
  return `the default deadline of ${operation}: pass timeoutMs (Infinity: none), or set defaultTimeouts.${operation} on the host`;
}
