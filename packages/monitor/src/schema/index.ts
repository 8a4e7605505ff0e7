/**
 * The QMP commands and events of each QEMU version this package knows, as
 * types generated from QEMU's own schema (`qemu-<version>.ts`, `versions.ts`:
 * see tools/qmp-schema), and the view of what every one of them has
 * (`"common"`), which a client uses unless told its QEMU's version.
 */
import type { CommandsByVersion, EventsByVersion, SchemaVersions } from "./versions.js";

/** A QEMU version whose schema this package carries: `"7.2"`, `"10.0"`. */
export type QmpSchemaVersion = keyof CommandsByVersion;

/**
 * What a client is typed for: one schema version, or `"common"` (the
 * default): the commands and events every version has, with arguments every
 * version accepts and results of any version.
 */
export type QmpTarget = QmpSchemaVersion | "common";

/**
 * Every command of each version (and of `"common"`): `{ arguments, result }`.
 * `QmpCommands["10.0"]["query-audiodevs"]` exists, `QmpCommands["7.2"]` has no
 * such key.
 */
export interface QmpCommands extends CommandsByVersion {
  common: CommonCommands;
}

/** Every event of each version (and of `"common"`): its `data`. */
export interface QmpEvents extends EventsByVersion {
  common: CommonEvents;
}

/** A command name of `V`. */
export type QmpCommandName<V extends QmpTarget = "common"> = keyof QmpCommands[V] & string;

/** The arguments of command `C` of `V` (`Empty` when it takes none). */
export type QmpCommandArguments<
  C extends QmpCommandName<V>,
  V extends QmpTarget = "common",
> = ArgumentsOf<QmpCommands[V][C]>;

/** What command `C` of `V` returns (`Empty`, i.e. `{}`, when it returns nothing). */
export type QmpCommandResult<
  C extends QmpCommandName<V>,
  V extends QmpTarget = "common",
> = ResultOf<QmpCommands[V][C]>;

/** An event name of `V`. */
export type QmpEventName<V extends QmpTarget = "common"> = keyof QmpEvents[V] & string;

/** The `data` of event `N` of `V`. */
export type QmpEventData<
  N extends QmpEventName<V>,
  V extends QmpTarget = "common",
> = QmpEvents[V][N];

type ArgumentsOf<T> = T extends { arguments: infer A } ? A : never;
type ResultOf<T> = T extends { result: infer R } ? R : never;

/** True when A and B are the same type (not merely assignable both ways). */
type Same<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/**
 * Arguments both A and B accept: A when they are the same, otherwise the
 * top-level members both have (a member only one version knows is left out),
 * each of a type both accept. Distributes over flat unions.
 */
type SharedArguments<A, B> =
  Same<A, B> extends true
    ? A
    : A extends unknown
      ? B extends unknown
        ? Pick<A, keyof A & keyof B> & Pick<B, keyof A & keyof B>
        : never
      : never;

/** The commands both maps have; arguments both accept, results of either. */
type CommonOf<A, B> = {
  [C in keyof A & keyof B]: {
    arguments: SharedArguments<ArgumentsOf<A[C]>, ArgumentsOf<B[C]>>;
    result: ResultOf<A[C]> | ResultOf<B[C]>;
  };
};

type FoldCommands<Versions, Common> = Versions extends [
  infer First extends QmpSchemaVersion,
  ...infer Rest,
]
  ? FoldCommands<Rest, CommonOf<Common, CommandsByVersion[First]>>
  : Common;

type FoldEvents<Versions, Common> = Versions extends [
  infer First extends QmpSchemaVersion,
  ...infer Rest,
]
  ? FoldEvents<
      Rest,
      { [N in keyof Common & keyof EventsByVersion[First]]: Common[N] | EventsByVersion[First][N] }
    >
  : Common;

type CommonCommands = SchemaVersions extends [infer First extends QmpSchemaVersion, ...infer Rest]
  ? FoldCommands<Rest, CommandsByVersion[First]>
  : never;

type CommonEvents = SchemaVersions extends [infer First extends QmpSchemaVersion, ...infer Rest]
  ? FoldEvents<Rest, EventsByVersion[First]>
  : never;
