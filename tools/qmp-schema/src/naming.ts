import { isEmptyObject, type Schema } from "./schema-info.js";

/** Names the generated module declares itself: no schema type may take them. */
export const RESERVED_NAMES = ["Commands", "Events", "Empty", "Version", "Package"] as const;

/**
 * `query-status` → `QueryStatus`, `DEVICE_DELETED` → `DeviceDeleted`,
 * `qdev_id` → `QdevId`, `numaNode` → `NumaNode`.
 */
export function pascalCase(name: string): string {
  return name
    .split(/[-_.]+/)
    .filter((word) => word.length > 0)
    .map((word) => {
      const rest = word === word.toUpperCase() ? word.slice(1).toLowerCase() : word.slice(1);
      return word[0]!.toUpperCase() + rest;
    })
    .join("");
}

const ALTERNATE_SUFFIX: Record<string, string> = {
  object: "Object",
  enum: "Enum",
  array: "List",
  alternate: "Alternate",
};

/**
 * Names every generated type after the first place that uses it, since
 * introspection names them by numbers that change between QEMU builds:
 * walking the commands in name order (arguments, then result), then the
 * events, a type used as `query-status`'s result is `QueryStatusResult`, its
 * member `status` is `QueryStatusResultStatus`, the case `file` of a flat
 * union `BlockdevAddArguments` is `BlockdevAddArgumentsFile`. Array types
 * get no name (`T[]`), nor do builtins and the empty object (`Empty`).
 * The same schema under any numbering gets the same names; a clash gets
 * `2`, `3`… in walk order.
 *
 * Returns schema type name → TypeScript name, in walk order (the order the
 * types are rendered in).
 */
export function nameTypes(schema: Schema): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>(RESERVED_NAMES);
  const visit = (typeName: string, suggestion: string): void => {
    const entry = schema.entries.get(typeName)!;
    const meta = entry["meta-type"];
    if (meta === "array") {
      visit(entry["element-type"], suggestion);
      return;
    }
    if (meta === "builtin" || names.has(typeName) || isEmptyObject(entry)) return;
    let name = suggestion;
    for (let n = 2; taken.has(name); n++) name = `${suggestion}${n}`;
    taken.add(name);
    names.set(typeName, name);
    if (meta === "object") {
      for (const member of entry.members) visit(member.type, name + pascalCase(member.name));
      for (const variant of entry.variants ?? [])
        visit(variant.type, name + pascalCase(variant.case));
    } else if (meta === "alternate") {
      for (const member of entry.members) {
        const memberMeta = schema.entries.get(member.type)!["meta-type"];
        visit(member.type, name + (ALTERNATE_SUFFIX[memberMeta] ?? pascalCase(member.type)));
      }
    }
  };
  for (const command of schema.commands) {
    const base = pascalCase(command.name);
    visit(command["arg-type"], `${base}Arguments`);
    visit(command["ret-type"], `${base}Result`);
  }
  for (const event of schema.events) visit(event["arg-type"], `${pascalCase(event.name)}Data`);
  return names;
}
