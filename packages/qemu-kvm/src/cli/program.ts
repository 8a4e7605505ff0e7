/**
 * The command line, read by commander into one `Invocation`: nothing runs
 * here, so every verb's parsing is tested without a VM. Help and version are
 * text to print; a bad command line is a `CommandLineError` naming the verb.
 */
import { Command, CommanderError, Option } from "commander";
import { CommandLineError } from "./errors.js";
import type { Invocation } from "./invocation.js";
import {
  argvInvocation,
  consoleInvocation,
  demoInvocation,
  execInvocation,
  monitorInvocation,
  psInvocation,
  startInvocation,
  stopInvocation,
} from "./normalize.js";

/** What the command line comes to: a verb to run, or text to print (help, version). */
export type Parsed =
  | { readonly kind: "run"; readonly invocation: Invocation }
  | {
      readonly kind: "print";
      readonly text: string;
      readonly to: "stdout" | "stderr";
      readonly exitCode: number;
    };

type Env = Readonly<Record<string, string | undefined>>;

const TARGET_HELP = `
Where: without --host, this machine. --host user@host[:port] runs on an SSH host,
checked against ~/.ssh/known_hosts (--known-hosts), with ssh-agent and --identity
(or ~/.ssh/id_ed25519, id_ecdsa, id_rsa). The VMs are found under the host's runtime
base (--runtime-base, env QEMU_KVM_RUNTIME_BASE); their ports are leased from the
host's pool (--pool-dir, env QEMU_KVM_POOL_DIR).`;

const LOGIN_HELP = `
Login: the console logs in as --user (default root, or the DTS section's). The
password is never an argument (other users can read argv): it comes from
--password-file, else the environment variable QEMU_KVM_PASSWORD, else the DTS
section's login.`;

function targetOptions(command: Command): Command {
  return command
    .option("--host <user@host[:port]>", "an SSH host to run on (default: this machine)")
    .option("--identity <file>", "a private key file for --host")
    .option("--known-hosts <file>", "the known hosts file for --host (default ~/.ssh/known_hosts)")
    .option("--runtime-base <dir>", "the base of the VMs' runtime directories")
    .option("--pool-dir <dir>", "the pool's state directory")
    .addHelpText("after", TARGET_HELP);
}

function loginOptions(command: Command): Command {
  return command
    .option("--user <name>", "the console login's user (default root)")
    .option("--password-file <file>", "a file holding the login's password")
    .addHelpText("after", LOGIN_HELP);
}

function specOptions(command: Command): Command {
  return command
    .argument("<file>", "a VmSpec as .json or .yaml/.yml, or a DTS VM config (.cfg)")
    .option("--section <name>", "the DTS section to use (a .cfg with one VM section needs none)")
    .option("--name <name>", "the VM's name instead of the spec's")
    .option("--emulator <path>", "the QEMU binary instead of the spec's or the host's default")
    .addOption(
      new Option("--control <kind>", "how the controller reaches the guest").choices([
        "serial-unix",
        "serial-telnet",
        "agent",
      ]),
    );
}

type Capture = (invocation: Invocation) => void;

type Define = (program: Command, capture: Capture, env: Env) => void;

/** One definition per verb, each storing its invocation through `capture`. */
const VERBS: readonly Define[] = [
  (program, capture, env) => {
    const start = program
      .command("start")
      .description("start a VM from a spec and leave it running (later verbs find it by name)");
    targetOptions(loginOptions(specOptions(start)))
      .option("--quick", "return once QEMU runs, without waiting for the guest")
      .option("--timeout <duration>", "the whole start's deadline (90, 2m, 500ms)")
      .option("--json", "print the summary as JSON")
      .action((file: string, options) => capture(startInvocation(file, options, env)));
  },
  (program, capture, env) => {
    targetOptions(program.command("ps").description("list the VMs on a host"))
      .option("--json", "JSON, whatever stdout is")
      .option("--table", "a table, whatever stdout is")
      .option("--all", "also QEMUs this library did not start")
      .action((options) => capture(psInvocation(options, env)));
  },
  (program, capture, env) => {
    const exec = program
      .command("exec")
      .description("run a command in the guest; exit with its status")
      .argument("<name>", "the VM")
      .argument("<command...>", "the command and its arguments, after --");
    targetOptions(loginOptions(exec))
      .option("--timeout <duration>", "the command's deadline")
      .action((name: string, command: string[], options) =>
        capture(execInvocation(name, command, options, env)),
      );
  },
  (program, capture, env) => {
    const console = program
      .command("console")
      .description("the VM's serial console, interactive; Ctrl-] detaches")
      .argument("<name>", "the VM");
    targetOptions(console).action((name: string, options) =>
      capture(consoleInvocation(name, options, env)),
    );
  },
  (program, capture, env) => {
    const monitor = program
      .command("monitor")
      .description("a QMP command (JSON), or with --hmp an HMP command (text)")
      .argument("<name>", "the VM")
      .argument(
        "<command>",
        "a QMP command (query-status), or with --hmp a command line ('info pci')",
      )
      .argument("[arguments]", "the QMP command's arguments, a JSON object");
    targetOptions(monitor)
      .option("--hmp", "COMMAND is an HMP command line")
      .option("--timeout <duration>", "the command's deadline")
      .action((name: string, command: string, args: string | undefined, options) =>
        capture(monitorInvocation(name, command, args, options, env)),
      );
  },
  (program, capture, env) => {
    const stop = program
      .command("stop")
      .description("stop a VM by stages; print the stage that ended it")
      .argument("<name>", "the VM");
    targetOptions(loginOptions(stop))
      .option("--timeout <duration>", "the whole stop's deadline")
      .option("--guest-timeout <duration>", "how long the guest may take to power off (default 30)")
      .action((name: string, options) => capture(stopInvocation(name, options, env)));
  },
  (program, capture, env) => {
    specOptions(program.command("argv").description("the QEMU command line start would run"))
      .option("--runtime-base <dir>", "the base of the VMs' runtime directories")
      .action((file: string, options) => capture(argvInvocation(file, options, env)));
  },
  (program, capture) => {
    program
      .command("demo")
      .description(
        "boot the repository's test guest: log in, run commands, SSH in, stop, leave nothing",
      )
      .option("--timeout <duration>", "the start's deadline")
      .action((options) => capture(demoInvocation(options)));
  },
];

/** Commander's own errors (unknown option, missing operand…), as ours, naming the verb. */
function usageFrom(error: CommanderError, verb: string | undefined): CommandLineError {
  let message = error.message.replace(/^error: /, "").replace(/\s*\n\s*/g, " ");
  if (verb === "exec" && error.code === "commander.unknownOption")
    message += ": the guest command and its options go after --: qemu-kvm exec NAME -- CMD…";
  // The option (`--control <kind>` → `--control`) or operand (`file` → `FILE`) it names.
  const named = /'([^']+)'/.exec(message)?.[1]?.split(" ")[0];
  const field =
    named === undefined || error.code === "commander.excessArguments"
      ? (verb ?? "qemu-kvm")
      : named.startsWith("-") || error.code === "commander.unknownCommand"
        ? named
        : named.toUpperCase();
  return new CommandLineError({ field, verb, message, value: field });
}

/** Reads `argv` (without node and the script). Throws `CommandLineError` for a bad command line. */
export function parseCommandLine(
  argv: readonly string[],
  env: Env = {},
  version = "0.0.0",
): Parsed {
  let invocation: Invocation | undefined;
  let out = "";
  let err = "";
  const program = new Command("qemu-kvm")
    .description("Start, use and stop QEMU/KVM virtual machines, here or on an SSH host.")
    .version(version, "--version")
    .configureOutput({
      writeOut: (text) => {
        out += text;
      },
      writeErr: (text) => {
        err += text;
      },
      outputError: () => {},
    })
    .showSuggestionAfterError(true)
    .exitOverride();
  for (const define of VERBS)
    define(
      program,
      (parsed) => {
        invocation = parsed;
      },
      env,
    );
  let verb: string | undefined;
  for (const command of program.commands) {
    const name = command.name();
    command.exitOverride((error) => {
      verb = name;
      throw error;
    });
  }
  try {
    program.parse([...argv], { from: "user" });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version")
      return { kind: "print", text: out, to: "stdout", exitCode: 0 };
    if (error.code === "commander.help")
      return { kind: "print", text: err || out, to: "stderr", exitCode: 2 };
    throw usageFrom(error, verb);
  }
  if (!invocation) throw new CommandLineError({ field: "VERB", message: "no verb given" });
  return { kind: "run", invocation };
}
