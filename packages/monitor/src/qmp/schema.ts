import { QmpUnknownArgumentError, QmpUnknownCommandError } from "../errors.js";
import type { QmpCommandResult } from "../schema/index.js";

/** One entry of a `query-qmp-schema` reply (QEMU's `SchemaInfo`). */
export type QmpSchemaEntry = QmpCommandResult<"query-qmp-schema">[number];

type ObjectEntry = Extract<QmpSchemaEntry, { "meta-type": "object" }>;
type CommandEntry = Extract<QmpSchemaEntry, { "meta-type": "command" }>;

/**
 * Commands whose arguments QEMU takes beyond those its schema lists
 * (`device_add` passes every other member to the device as a property).
 * tools/qmp-schema keeps the same list for the generated types.
 */
const OPEN_ARGUMENT_COMMANDS: ReadonlySet<string> = new Set(["device_add"]);

/**
 * The schema of the connected QEMU, from `query-qmp-schema` (see
 * `QmpClient.schema()`): which commands and events it has, and the arguments
 * each command takes. What strict mode checks calls against.
 */
export class QmpSchema {
  /** The connected QEMU's version, e.g. `7.2.22`. */
  readonly qemuVersion: string;
  /** The reply as QEMU sent it. */
  readonly entries: readonly QmpSchemaEntry[];
  readonly #types = new Map<string, QmpSchemaEntry>();
  readonly #commands = new Map<string, CommandEntry>();
  readonly #events = new Set<string>();

  constructor(entries: readonly QmpSchemaEntry[], qemuVersion: string) {
    this.entries = entries;
    this.qemuVersion = qemuVersion;
    for (const entry of entries) {
      if (entry["meta-type"] === "command") this.#commands.set(entry.name, entry);
      else if (entry["meta-type"] === "event") this.#events.add(entry.name);
      else this.#types.set(entry.name, entry);
    }
  }

  /** Every command name, sorted. */
  get commandNames(): string[] {
    return [...this.#commands.keys()].sort();
  }

  /** Every event name, sorted. */
  get eventNames(): string[] {
    return [...this.#events].sort();
  }

  hasCommand(name: string): boolean {
    return this.#commands.has(name);
  }

  hasEvent(name: string): boolean {
    return this.#events.has(name);
  }

  /**
   * The names of the arguments `command` takes, sorted; `undefined` for a
   * command QEMU lacks. When its arguments are a flat union (`blockdev-add`),
   * those of the variant `args` selects (all variants' when `args` selects none).
   * `device_add` takes any other name too (see {@link acceptsAnyArgument}).
   */
  argumentNames(command: string, args?: Readonly<Record<string, unknown>>): string[] | undefined {
    const entry = this.#commands.get(command);
    if (!entry) return undefined;
    const names = new Set<string>();
    this.#collect(entry["arg-type"], args ?? {}, names);
    return [...names].sort();
  }

  /** True for a command that takes arguments its schema does not list (`device_add`). */
  acceptsAnyArgument(command: string): boolean {
    return OPEN_ARGUMENT_COMMANDS.has(command);
  }

  /**
   * Throws `ERR_QMP_UNKNOWN_COMMAND` when QEMU lacks `command`, and
   * `ERR_QMP_UNKNOWN_ARGUMENT` for the first top-level argument it does not take.
   */
  check(command: string, args: Readonly<Record<string, unknown>> | undefined): void {
    const accepted = this.argumentNames(command, args);
    if (accepted === undefined)
      throw new QmpUnknownCommandError({ command, qemuVersion: this.qemuVersion });
    if (args === undefined || this.acceptsAnyArgument(command)) return;
    for (const [argument, value] of Object.entries(args)) {
      if (value === undefined || accepted.includes(argument)) continue;
      throw new QmpUnknownArgumentError({
        command,
        argument,
        accepted,
        qemuVersion: this.qemuVersion,
      });
    }
  }

  #collect(typeName: string, args: Readonly<Record<string, unknown>>, names: Set<string>): void {
    const entry = this.#types.get(typeName);
    if (entry?.["meta-type"] !== "object") return;
    const object = entry as ObjectEntry;
    for (const member of object.members) names.add(member.name);
    const variants = object.variants ?? [];
    const selected = object.tag === undefined ? undefined : args[object.tag];
    const chosen = variants.filter((variant) => variant.case === selected);
    for (const variant of chosen.length ? chosen : variants)
      this.#collect(variant.type, args, names);
  }
}
