import { QemuKvmError, type SharedErrorCode } from "@qemu-kvm/core";

/**
 * Every code the facade throws or rejects with: its own (`ERR_VM_*`) and the
 * shared ones. Errors of the packages underneath (a refused QMP command, a
 * failed SSH connection…) reach the caller as they are, with their own codes.
 */
export type VmErrorCode =
  | "ERR_VM_STATE"
  | "ERR_VM_LAUNCH"
  | "ERR_VM_BOOT"
  | "ERR_VM_CRASHED"
  | "ERR_VM_NOT_FOUND"
  | "ERR_VM_EXISTS"
  | "ERR_VM_RUNTIME"
  | SharedErrorCode;

/** What a VM is doing, as `vm.state` reports it. */
export type VmState =
  | "created"
  | "starting"
  | "running"
  | "paused"
  | "stopping"
  | "stopped"
  | "crashed";

/** The call is not possible in the VM's state (e.g. `exec` before `start`, `start` twice). */
export class VmStateError extends QemuKvmError {
  static override readonly errorId: string = "VmStateError";
  readonly code = "ERR_VM_STATE" as const;
  readonly vm: string;
  readonly state: VmState;
  readonly operation: string;

  constructor(fields: { vm: string; state: VmState; operation: string; expected: string }) {
    super(
      `${fields.operation} on VM ${fields.vm}: it is ${fields.state}, it must be ${fields.expected}`,
    );
    this.vm = fields.vm;
    this.state = fields.state;
    this.operation = fields.operation;
  }
}

/** Where a launch failed. */
export type LaunchPhase = "leases" | "runtime-dir" | "boot-files" | "qemu" | "pidfile" | "qmp";

/**
 * QEMU could not be launched: it refused its command line, exited at once, or
 * its monitor never answered. `stderr` is what QEMU wrote (its own reason),
 * `argv` the command line, `phase` where it failed. Nothing of it is left
 * behind: the process, its runtime directory and its leases are gone.
 */
export class VmLaunchError extends QemuKvmError {
  static override readonly errorId: string = "VmLaunchError";
  readonly code = "ERR_VM_LAUNCH" as const;
  readonly vm: string;
  readonly phase: LaunchPhase;
  readonly argv: readonly string[];
  readonly stderr: string;
  readonly exitCode: number | null;
  /** QEMU could not bind a port (someone outside the pool took it): `start` leases others and tries again. */
  readonly portBusy: boolean;

  constructor(fields: {
    vm: string;
    phase: LaunchPhase;
    argv?: readonly string[];
    stderr?: string;
    exitCode?: number | null;
    portBusy?: boolean;
    message: string;
    cause?: unknown;
  }) {
    const stderr = fields.stderr?.trim() ?? "";
    super(
      `VM ${fields.vm} could not be launched (${fields.phase}): ${fields.message}${stderr ? `\n${stderr}` : ""}`,
      { cause: fields.cause },
    );
    this.vm = fields.vm;
    this.phase = fields.phase;
    this.argv = fields.argv ?? [];
    this.stderr = stderr;
    this.exitCode = fields.exitCode ?? null;
    this.portBusy = fields.portBusy ?? false;
  }
}

/**
 * The guest did not become ready (logged in on its console, or its agent
 * answering, and its network up) by the deadline, twice: once with the first
 * leases and once more with fresh ones. `transcript` is the end of what the
 * guest printed on its console the last time (masked), `attempts` how many
 * boots were tried; `cause` is the last wait's error.
 */
export class VmBootError extends QemuKvmError {
  static override readonly errorId: string = "VmBootError";
  readonly code = "ERR_VM_BOOT" as const;
  readonly vm: string;
  readonly attempts: number;
  readonly transcript: string;

  constructor(fields: { vm: string; attempts: number; transcript: string; cause?: unknown }) {
    const reason = fields.cause instanceof Error ? `: ${fields.cause.message}` : "";
    super(
      `VM ${fields.vm}: the guest was not ready after ${fields.attempts} boot${fields.attempts === 1 ? "" : "s"}${reason}`,
      { cause: fields.cause },
    );
    this.vm = fields.vm;
    this.attempts = fields.attempts;
    this.transcript = fields.transcript;
  }
}

/** QEMU is gone (killed, or it crashed) while the call waited: its monitor closed unasked. */
export class VmCrashedError extends QemuKvmError {
  static override readonly errorId: string = "VmCrashedError";
  readonly code = "ERR_VM_CRASHED" as const;
  readonly vm: string;
  readonly operation: string;

  constructor(fields: { vm: string; operation: string; cause?: unknown }) {
    super(`VM ${fields.vm} is gone (QEMU exited) while ${fields.operation} waited`, {
      cause: fields.cause,
    });
    this.vm = fields.vm;
    this.operation = fields.operation;
  }
}

/** No running VM of that name on the host (`attachVm`), or its QEMU is not the one recorded. */
export class VmNotFoundError extends QemuKvmError {
  static override readonly errorId: string = "VmNotFoundError";
  readonly code = "ERR_VM_NOT_FOUND" as const;
  readonly vm: string;
  readonly host: string;

  constructor(fields: { vm: string; host: string; reason: string }) {
    super(`no running VM ${fields.vm} on ${fields.host}: ${fields.reason}`);
    this.vm = fields.vm;
    this.host = fields.host;
  }
}

/** A VM of that name is already running on the host (started by this or another process). */
export class VmExistsError extends QemuKvmError {
  static override readonly errorId: string = "VmExistsError";
  readonly code = "ERR_VM_EXISTS" as const;
  readonly vm: string;
  readonly host: string;
  readonly pid: number | undefined;

  constructor(fields: { vm: string; host: string; pid?: number }) {
    super(
      `a VM named ${fields.vm} is already running on ${fields.host}${fields.pid ? ` (pid ${fields.pid})` : ""}: stop it, attach to it, or choose another name`,
    );
    this.vm = fields.vm;
    this.host = fields.host;
    this.pid = fields.pid;
  }
}

/**
 * The VM's runtime directory (or the per-host base above it) is unusable: owned
 * by someone else, a symlink, not private, or its record is not one of ours.
 * Nothing is overwritten or followed.
 */
export class VmRuntimeError extends QemuKvmError {
  static override readonly errorId: string = "VmRuntimeError";
  readonly code = "ERR_VM_RUNTIME" as const;
  readonly path: string;

  constructor(fields: { path: string; reason: string; cause?: unknown }) {
    super(`runtime path ${fields.path}: ${fields.reason}`, { cause: fields.cause });
    this.path = fields.path;
  }
}
