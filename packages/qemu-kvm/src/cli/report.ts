/**
 * An error as the command reports it on stderr: its code, what failed, what
 * underneath made it fail, and what to do.
 *
 *   qemu-kvm: ERR_VM_NOT_FOUND: no running VM vm9 on local: no record of it
 *     what to do: `qemu-kvm ps` lists the VMs; give the same --host and --runtime-base
 */
import { DtsConfigError, InvalidSpecError } from "@qemu-kvm/bootline";
import { ConsoleLoginError, ConsoleNotGuestError, GuestAgentClosedError } from "@qemu-kvm/control";
import { AbortError, InvalidArgumentError, TimeoutError, tail } from "@qemu-kvm/core";
import {
  HostAuthError,
  HostConnectError,
  HostConnectionLostError,
  HostKeyMismatchError,
  HostSpawnError,
} from "@qemu-kvm/host";
import { QmpClosedError, QmpCommandError } from "@qemu-kvm/monitor";
import { PoolBusyError, PoolExhaustedError } from "@qemu-kvm/pool";
import {
  VmBootError,
  VmCrashedError,
  VmExistsError,
  VmLaunchError,
  VmNotFoundError,
  VmRuntimeError,
  VmStateError,
} from "../errors.js";
import { CommandLineError, DemoError } from "./errors.js";

type Matcher = { isInstance(value: unknown): boolean };

const WHERE = "give the same --host and --runtime-base as when it was started";

/** What to do, by error class (the first that matches). */
const HINTS: ReadonlyArray<readonly [Matcher, (error: never, verb: string | undefined) => string]> =
  [
    [
      { isInstance: (value) => value instanceof CommandLineError },
      (e: CommandLineError, verb) =>
        `see \`qemu-kvm ${e.verb ?? verb ?? ""} --help\``.replace("  ", " "),
    ],
    [
      InvalidSpecError,
      () => "fix the spec file (`qemu-kvm argv FILE` checks it without starting anything)",
    ],
    [DtsConfigError, () => "fix the DTS config at the line named, or pick another --section"],
    [InvalidArgumentError, () => "check the option or spec field it names"],
    [VmNotFoundError, () => `\`qemu-kvm ps\` lists the VMs on the host; ${WHERE}`],
    [VmExistsError, () => "stop it (`qemu-kvm stop NAME`), or start this one with another --name"],
    [
      VmLaunchError,
      () => "QEMU's own words are above; `qemu-kvm argv FILE` prints the command line it refused",
    ],
    [
      VmBootError,
      () =>
        "the guest's console is above: check the kernel's console=ttyS0, the login (--user, --password-file) or raise the spec's boot timeout",
    ],
    [
      VmCrashedError,
      () => "QEMU exited: its log is gone with it; start the VM again (`qemu-kvm start`)",
    ],
    [
      VmRuntimeError,
      () =>
        "the runtime directory is not one this library made: remove it, or use another --runtime-base",
    ],
    [VmStateError, () => "check the VM's state with `qemu-kvm ps`"],
    [
      ConsoleLoginError,
      () => "check --user and the password (--password-file or QEMU_KVM_PASSWORD)",
    ],
    [
      ConsoleNotGuestError,
      () => "the console answers for another guest: check the VM's runtime directory",
    ],
    [GuestAgentClosedError, () => "the guest agent went away: is qemu-ga running in the guest?"],
    [
      HostKeyMismatchError,
      () =>
        "the SSH host's key is not the known one: check it, then fix --known-hosts (default ~/.ssh/known_hosts)",
    ],
    [HostAuthError, () => "check the user in --host, ssh-agent (SSH_AUTH_SOCK) and --identity"],
    [HostConnectError, () => "check the address and port in --host, and that sshd runs there"],
    [HostConnectionLostError, () => "the SSH connection dropped: run the verb again"],
    [HostSpawnError, () => "a program is missing on the host (QEMU: install qemu-system-<arch>)"],
    [
      QmpCommandError,
      () => "`qemu-kvm monitor NAME query-commands` lists QMP's commands; `--hmp help` HMP's",
    ],
    [QmpClosedError, () => "the VM's monitor closed: is the VM still running (`qemu-kvm ps`)?"],
    [
      PoolExhaustedError,
      () => "stop VMs you no longer need (`qemu-kvm ps`), or give the spec fixed ports",
    ],
    [PoolBusyError, () => "another process holds the pool's lock: run the verb again"],
    [TimeoutError, () => "raise --timeout, or see what the VM is doing (`qemu-kvm console NAME`)"],
    [AbortError, () => "interrupted: what was started has been stopped"],
    [DemoError, (e: DemoError) => e.hint],
  ];

/** `CODE: ` for an error that has one (ours, Node's `ENOENT`…), else nothing. */
function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? `${code}: ` : "";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The causes underneath, each on a line, while they add something. */
function causes(error: unknown): string[] {
  const lines: string[] = [];
  let seen = messageOf(error);
  let cause = (error as { cause?: unknown } | null)?.cause;
  for (let depth = 0; cause !== undefined && cause !== null && depth < 3; depth++) {
    const message = messageOf(cause);
    if (!seen.includes(message)) lines.push(`  because: ${codeOf(cause)}${message}`);
    seen += message;
    cause = (cause as { cause?: unknown }).cause;
  }
  return lines;
}

/** The lines to print on stderr for `error` of `verb`, each prefixed as the command's. */
export function formatError(error: unknown, verb?: string): string {
  const lines = [`qemu-kvm: ${codeOf(error)}${messageOf(error)}`];
  if (VmBootError.isInstance(error) && error.transcript.trim() !== "")
    lines.push(
      "  the end of the guest's console:",
      ...tail(error.transcript, { maxLines: 15, maxChars: 2_000 })
        .split("\n")
        .map((line) => `    ${line}`),
    );
  lines.push(...causes(error));
  const hint = HINTS.find(([matcher]) => matcher.isInstance(error));
  if (hint)
    lines.push(
      `  what to do: ${(hint[1] as (error: unknown, verb?: string) => string)(error, verb)}`,
    );
  else if (codeOf(error) === "")
    lines.push("  what to do: this is a bug of qemu-kvm; please report it with the command line");
  return `${lines.join("\n")}\n`;
}
