/** Commander's option values, checked and typed: one function per verb. */
import { isAbsolute, resolve } from "node:path";
import { CommandLineError } from "./errors.js";
import type {
  ArgvInvocation,
  ConsoleInvocation,
  DemoInvocation,
  ExecInvocation,
  LoginSource,
  MonitorInvocation,
  PsInvocation,
  SpecSource,
  StartInvocation,
  StopInvocation,
  Target,
} from "./invocation.js";
import {
  parseControl,
  parseDuration,
  parseJsonObject,
  parseSshTarget,
  parseVmName,
} from "./values.js";

type Env = Readonly<Record<string, string | undefined>>;
type Options = Record<string, unknown>;

function text(options: Options, key: string): string | undefined {
  const value = options[key];
  return typeof value === "string" ? value : undefined;
}

function flag(options: Options, key: string): boolean {
  return options[key] === true;
}

function duration(options: Options, key: string, field: string, verb: string): number | undefined {
  const value = text(options, key);
  return value === undefined ? undefined : parseDuration(value, field, verb);
}

/**
 * A directory of the host: absolute as given, or (on this machine only)
 * relative to the working directory. An SSH host has no working directory of ours.
 */
function directory(
  value: string | undefined,
  field: string,
  remote: boolean,
  verb: string,
): string | undefined {
  if (value === undefined || value === "") return undefined;
  if (isAbsolute(value)) return value;
  if (!remote) return resolve(value);
  throw new CommandLineError({
    field,
    verb,
    value,
    message: `${field} must be an absolute path on the SSH host; got ${JSON.stringify(value)}`,
  });
}

export function targetOf(options: Options, env: Env, verb: string): Target {
  const host = text(options, "host");
  const ssh = host === undefined ? undefined : parseSshTarget(host, verb);
  const remote = ssh !== undefined;
  for (const key of ["identity", "knownHosts"] as const)
    if (!remote && text(options, key) !== undefined)
      throw new CommandLineError({
        field: key === "identity" ? "--identity" : "--known-hosts",
        verb,
        message: `${key === "identity" ? "--identity" : "--known-hosts"} is for an SSH host: give --host too`,
      });
  const local = (value: string | undefined) => (value === undefined ? undefined : resolve(value));
  return {
    ssh,
    identity: local(text(options, "identity")),
    knownHosts: local(text(options, "knownHosts")),
    runtimeBase: directory(
      text(options, "runtimeBase") ?? env.QEMU_KVM_RUNTIME_BASE,
      "--runtime-base",
      remote,
      verb,
    ),
    poolDir: directory(
      text(options, "poolDir") ?? env.QEMU_KVM_POOL_DIR,
      "--pool-dir",
      remote,
      verb,
    ),
  };
}

function loginOf(options: Options): LoginSource {
  const passwordFile = text(options, "passwordFile");
  return {
    user: text(options, "user"),
    passwordFile: passwordFile === undefined ? undefined : resolve(passwordFile),
  };
}

function specOf(file: string, options: Options, verb: string): SpecSource {
  const name = text(options, "name");
  const control = text(options, "control");
  return {
    file: resolve(file),
    section: text(options, "section"),
    name: name === undefined ? undefined : parseVmName(name, "--name", verb),
    emulator: text(options, "emulator"),
    control: control === undefined ? undefined : parseControl(control, verb),
  };
}

export function startInvocation(file: string, options: Options, env: Env): StartInvocation {
  return {
    verb: "start",
    spec: specOf(file, options, "start"),
    target: targetOf(options, env, "start"),
    login: loginOf(options),
    quick: flag(options, "quick"),
    timeoutMs: duration(options, "timeout", "--timeout", "start"),
    json: flag(options, "json"),
  };
}

export function psInvocation(options: Options, env: Env): PsInvocation {
  if (flag(options, "json") && flag(options, "table"))
    throw new CommandLineError({
      field: "--table",
      verb: "ps",
      message: "--json and --table exclude each other",
    });
  return {
    verb: "ps",
    target: targetOf(options, env, "ps"),
    format: flag(options, "json") ? "json" : flag(options, "table") ? "table" : undefined,
    all: flag(options, "all"),
  };
}

export function execInvocation(
  name: string,
  command: readonly string[],
  options: Options,
  env: Env,
): ExecInvocation {
  if (command.length === 0 || command[0] === "")
    throw new CommandLineError({
      field: "COMMAND",
      verb: "exec",
      message: "exec needs a command to run in the guest, after --",
    });
  return {
    verb: "exec",
    name: parseVmName(name, "NAME", "exec"),
    command,
    target: targetOf(options, env, "exec"),
    login: loginOf(options),
    timeoutMs: duration(options, "timeout", "--timeout", "exec"),
  };
}

export function consoleInvocation(name: string, options: Options, env: Env): ConsoleInvocation {
  return {
    verb: "console",
    name: parseVmName(name, "NAME", "console"),
    target: targetOf(options, env, "console"),
  };
}

export function monitorInvocation(
  name: string,
  command: string,
  args: string | undefined,
  options: Options,
  env: Env,
): MonitorInvocation {
  const hmp = flag(options, "hmp");
  if (hmp && args !== undefined)
    throw new CommandLineError({
      field: "ARGUMENTS",
      verb: "monitor",
      message: "with --hmp, give the whole command line as one argument: 'info pci'",
    });
  if (command.trim() === "")
    throw new CommandLineError({
      field: "COMMAND",
      verb: "monitor",
      message: "monitor needs a command",
    });
  return {
    verb: "monitor",
    name: parseVmName(name, "NAME", "monitor"),
    command,
    arguments: args === undefined ? undefined : parseJsonObject(args, "ARGUMENTS", "monitor"),
    hmp,
    target: targetOf(options, env, "monitor"),
    timeoutMs: duration(options, "timeout", "--timeout", "monitor"),
  };
}

export function stopInvocation(name: string, options: Options, env: Env): StopInvocation {
  return {
    verb: "stop",
    name: parseVmName(name, "NAME", "stop"),
    target: targetOf(options, env, "stop"),
    login: loginOf(options),
    timeoutMs: duration(options, "timeout", "--timeout", "stop"),
    guestTimeoutMs: duration(options, "guestTimeout", "--guest-timeout", "stop"),
  };
}

export function argvInvocation(file: string, options: Options, env: Env): ArgvInvocation {
  return {
    verb: "argv",
    spec: specOf(file, options, "argv"),
    runtimeBase: directory(
      text(options, "runtimeBase") ?? env.QEMU_KVM_RUNTIME_BASE,
      "--runtime-base",
      false,
      "argv",
    ),
  };
}

export function demoInvocation(options: Options): DemoInvocation {
  return { verb: "demo", timeoutMs: duration(options, "timeout", "--timeout", "demo") };
}
