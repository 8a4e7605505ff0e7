import { QemuKvmError, type SharedErrorCode } from "@qemu-kvm/core";

/** Every code `@qemu-kvm/bootline` can throw (see the README's error table). */
export type BootlineErrorCode =
  | "ERR_BOOTLINE_INVALID_SPEC"
  | "ERR_BOOTLINE_DTS_CONFIG"
  | Extract<SharedErrorCode, "ERR_INVALID_ARGUMENT">;

/** One problem found in a VM spec: where, what is wrong, and what was expected. */
export interface SpecIssue {
  /** Field path in the spec, e.g. `nets[1].hostForwards[0].hostPort` (`""` for the spec itself). */
  readonly path: string;
  /** What is wrong, in a sentence. */
  readonly message: string;
  /** What would have been accepted, when that can be said briefly. */
  readonly expected?: string;
}

/** An issue as one line: `path: message (expected …)`. */
export function describeSpecIssue(issue: SpecIssue): string {
  const where = issue.path === "" ? "spec" : issue.path;
  return `${where}: ${issue.message}${issue.expected ? ` (expected ${issue.expected})` : ""}`;
}

/**
 * A VM spec (or the ports given to `assignPorts` for it) that cannot be turned
 * into a QEMU command line. Thrown synchronously, before anything runs; `issues`
 * lists every problem found, not only the first. Match on `code`.
 */
export class InvalidSpecError extends QemuKvmError {
  static override readonly errorId: string = "InvalidSpecError";
  readonly code = "ERR_BOOTLINE_INVALID_SPEC" as const;
  readonly issues: readonly SpecIssue[];

  constructor(issues: readonly SpecIssue[], options: { cause?: unknown } = {}) {
    const list = issues.map(describeSpecIssue);
    super(
      list.length === 1
        ? `invalid VM spec: ${list[0]}`
        : `invalid VM spec (${list.length} problems):\n  ${list.join("\n  ")}`,
      options,
    );
    this.issues = Object.freeze([...issues]);
  }
}

/** One problem found in a DTS VM config file: which file, section, key and entry. */
export interface DtsConfigIssue {
  /** The file name given in the options, if any. */
  readonly file?: string;
  /** The section (VM name), e.g. `vm0`; absent for file-level syntax errors. */
  readonly section?: string;
  /** The option key, e.g. `net`; absent for section-level problems. */
  readonly key?: string;
  /** 1-based line of the key (or of the offending line for syntax errors). */
  readonly line?: number;
  /** What is wrong and why, in a sentence. */
  readonly message: string;
}

function describeDtsIssue(issue: DtsConfigIssue): string {
  const where = [
    issue.file,
    issue.line === undefined ? undefined : `line ${issue.line}`,
    issue.section === undefined ? undefined : `[${issue.section}]`,
    issue.key,
  ]
    .filter((part) => part !== undefined)
    .join(" ");
  return where ? `${where}: ${issue.message}` : issue.message;
}

/**
 * A DTS VM config that cannot be read or mapped onto a `VmSpec`: INI syntax errors,
 * unknown keys, libvirt-, Xen- or scene-only keys, values out of range. `issues`
 * lists every problem found in the sections that were read. Match on `code`.
 */
export class DtsConfigError extends QemuKvmError {
  static override readonly errorId: string = "DtsConfigError";
  readonly code = "ERR_BOOTLINE_DTS_CONFIG" as const;
  readonly issues: readonly DtsConfigIssue[];

  constructor(issues: readonly DtsConfigIssue[], options: { cause?: unknown } = {}) {
    const list = issues.map(describeDtsIssue);
    super(
      list.length === 1
        ? `cannot read DTS config: ${list[0]}`
        : `cannot read DTS config (${list.length} problems):\n  ${list.join("\n  ")}`,
      options,
    );
    this.issues = Object.freeze([...issues]);
  }
}
