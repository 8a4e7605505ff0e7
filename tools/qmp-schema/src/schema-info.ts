/**
 * The entries of a `query-qmp-schema` reply (QEMU's `SchemaInfo`, see
 * qapi/introspect.json). Types other than builtins are named by numbers that
 * change between QEMU builds; commands and events keep their names.
 */
export type SchemaInfo =
  | BuiltinInfo
  | EnumInfo
  | ArrayInfo
  | ObjectInfo
  | AlternateInfo
  | CommandInfo
  | EventInfo;

interface Entry {
  name: string;
  features?: string[];
}

export interface BuiltinInfo extends Entry {
  "meta-type": "builtin";
  /** `string`, `number`, `int`, `boolean`, `null`, `object`, `array` or `value` (any). */
  "json-type": string;
}

export interface EnumInfo extends Entry {
  "meta-type": "enum";
  /** Since QEMU 6.2; `values` before. */
  members?: { name: string; features?: string[] }[];
  values?: string[];
}

export interface ArrayInfo extends Entry {
  "meta-type": "array";
  "element-type": string;
}

export interface ObjectMember {
  name: string;
  type: string;
  /** Present (always `null`) when the member is optional. */
  default?: null;
  features?: string[];
}

export interface ObjectInfo extends Entry {
  "meta-type": "object";
  members: ObjectMember[];
  /** A flat union: the member whose value picks the variant. */
  tag?: string;
  variants?: { case: string; type: string }[];
}

export interface AlternateInfo extends Entry {
  "meta-type": "alternate";
  members: { type: string }[];
}

export interface CommandInfo extends Entry {
  "meta-type": "command";
  "arg-type": string;
  "ret-type": string;
  "allow-oob"?: boolean;
}

export interface EventInfo extends Entry {
  "meta-type": "event";
  "arg-type": string;
}

/** A schema indexed by name. */
export interface Schema {
  readonly entries: ReadonlyMap<string, SchemaInfo>;
  /** Sorted by name. */
  readonly commands: readonly CommandInfo[];
  /** Sorted by name. */
  readonly events: readonly EventInfo[];
}

const byName = (a: { name: string }, b: { name: string }) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/** Indexes a `query-qmp-schema` reply; throws on a reference to a type it does not contain. */
export function indexSchema(reply: readonly SchemaInfo[]): Schema {
  const entries = new Map<string, SchemaInfo>();
  for (const entry of reply) entries.set(entry.name, entry);
  const commands: CommandInfo[] = [];
  const events: EventInfo[] = [];
  for (const entry of entries.values()) {
    if (entry["meta-type"] === "command") commands.push(entry);
    else if (entry["meta-type"] === "event") events.push(entry);
    for (const reference of references(entry))
      if (!entries.has(reference))
        throw new Error(`schema entry ${entry.name} refers to ${reference}, which is not in it`);
  }
  return { entries, commands: commands.sort(byName), events: events.sort(byName) };
}

/** The type names an entry refers to, in schema order. */
export function references(entry: SchemaInfo): string[] {
  switch (entry["meta-type"]) {
    case "array":
      return [entry["element-type"]];
    case "object":
      return [
        ...entry.members.map((member) => member.type),
        ...(entry.variants ?? []).map((variant) => variant.type),
      ];
    case "alternate":
      return entry.members.map((member) => member.type);
    case "command":
      return [entry["arg-type"], entry["ret-type"]];
    case "event":
      return [entry["arg-type"]];
    default:
      return [];
  }
}

/** An enum's values, from `members` (QEMU ≥ 6.2) or `values`. */
export function enumValues(entry: EnumInfo): { name: string; features?: string[] }[] {
  return entry.members ?? (entry.values ?? []).map((name) => ({ name }));
}

/** An object with no members and no variants (`q_empty`, the type of "no arguments"). */
export function isEmptyObject(entry: SchemaInfo): boolean {
  return entry["meta-type"] === "object" && entry.members.length === 0 && !entry.variants?.length;
}
