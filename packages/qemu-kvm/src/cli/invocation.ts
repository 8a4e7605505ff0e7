/** What the command line asks for, parsed and checked: one type per verb. */
import type { ControlKind } from "../runtime/record.js";
import type { SshTarget } from "./values.js";

/** Where the VMs are: this machine or an SSH host, and the directories the library keeps there. */
export interface Target {
  /** `--host`: an SSH host (absent: this machine). */
  readonly ssh: SshTarget | undefined;
  /** `--identity`: a private key file for the SSH host. */
  readonly identity: string | undefined;
  /** `--known-hosts`: the known hosts file (default `~/.ssh/known_hosts`). */
  readonly knownHosts: string | undefined;
  /** `--runtime-base` or `QEMU_KVM_RUNTIME_BASE`: the per-host base of runtime directories. */
  readonly runtimeBase: string | undefined;
  /** `--pool-dir` or `QEMU_KVM_POOL_DIR`: the pool's state directory. */
  readonly poolDir: string | undefined;
}

/** The console login: the password never comes from argv (other users see it). */
export interface LoginSource {
  /** `--user`. */
  readonly user: string | undefined;
  /** `--password-file`. */
  readonly passwordFile: string | undefined;
}

/** A spec file and how to read it. */
export interface SpecSource {
  readonly file: string;
  /** `--section`: the DTS section (a `.cfg` with one VM section needs none). */
  readonly section: string | undefined;
  /** `--name`: the VM's name instead of the spec's. */
  readonly name: string | undefined;
  /** `--emulator`: the QEMU binary instead of the spec's (or the host's default). */
  readonly emulator: string | undefined;
  /** `--control` (a DTS section brings its own). */
  readonly control: ControlKind | undefined;
}

export interface StartInvocation {
  readonly verb: "start";
  readonly spec: SpecSource;
  readonly target: Target;
  readonly login: LoginSource;
  readonly quick: boolean;
  readonly timeoutMs: number | undefined;
  readonly json: boolean;
}

export interface PsInvocation {
  readonly verb: "ps";
  readonly target: Target;
  /** `--json`, `--table`, or undefined: a table on a terminal, JSON otherwise. */
  readonly format: "json" | "table" | undefined;
  /** `--all`: also QEMUs this library did not start. */
  readonly all: boolean;
}

export interface ExecInvocation {
  readonly verb: "exec";
  readonly name: string;
  /** The guest command's argv (each word quoted for the guest's shell). */
  readonly command: readonly string[];
  readonly target: Target;
  readonly login: LoginSource;
  readonly timeoutMs: number | undefined;
}

export interface ConsoleInvocation {
  readonly verb: "console";
  readonly name: string;
  readonly target: Target;
}

export interface MonitorInvocation {
  readonly verb: "monitor";
  readonly name: string;
  /** A QMP command (`query-status`), or with `hmp` an HMP command line (`info pci`). */
  readonly command: string;
  readonly arguments: Record<string, unknown> | undefined;
  readonly hmp: boolean;
  readonly target: Target;
  readonly timeoutMs: number | undefined;
}

export interface StopInvocation {
  readonly verb: "stop";
  readonly name: string;
  readonly target: Target;
  readonly login: LoginSource;
  readonly timeoutMs: number | undefined;
  readonly guestTimeoutMs: number | undefined;
}

export interface ArgvInvocation {
  readonly verb: "argv";
  readonly spec: SpecSource;
  readonly runtimeBase: string | undefined;
}

export interface DemoInvocation {
  readonly verb: "demo";
  readonly timeoutMs: number | undefined;
}

export type Invocation =
  | StartInvocation
  | PsInvocation
  | ExecInvocation
  | ConsoleInvocation
  | MonitorInvocation
  | StopInvocation
  | ArgvInvocation
  | DemoInvocation;

export type Verb = Invocation["verb"];
