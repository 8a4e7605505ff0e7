/**
 * Checks that command arguments serialize to JSON that QEMU accepts, so that
 * no request can make QEMU answer with an error it cannot tie to an id (QEMU
 * answers a JSON parse error without the request's id, see qmp-spec.rst).
 * Throws a `TypeError` naming the offending path.
 *
 * Rejected: strings with lone UTF-16 surrogates (QEMU: "not a valid Unicode
 * character"), nesting deeper than {@link MAX_DEPTH} (QEMU's limit is 1024),
 * non-finite numbers (JSON.stringify would send `null`), bigint, functions,
 * symbols, `undefined` inside arrays, and cycles. `undefined` object members
 * are omitted, as JSON.stringify does.
 */
export function checkArguments(command: string, args: unknown): void {
  if (args === undefined) return;
  if (args === null || typeof args !== "object" || Array.isArray(args))
    throw new TypeError(`arguments of ${command} must be a plain object`);
  check(args, "arguments", 1, new Set());

  function check(value: unknown, path: string, depth: number, ancestors: Set<object>): void {
    switch (typeof value) {
      case "string":
        if (!isWellFormed(value))
          throw new TypeError(
            `${command}: ${path} has a lone UTF-16 surrogate, which QEMU rejects`,
          );
        return;
      case "number":
        if (!Number.isFinite(value))
          throw new TypeError(`${command}: ${path} is ${value}, which JSON cannot carry`);
        return;
      case "boolean":
        return;
      case "object": {
        if (value === null) return;
        if (depth > MAX_DEPTH)
          throw new TypeError(`${command}: ${path} is nested deeper than ${MAX_DEPTH} levels`);
        if (ancestors.has(value)) throw new TypeError(`${command}: ${path} is a cycle`);
        if (typeof (value as { toJSON?: unknown }).toJSON === "function") return;
        ancestors.add(value);
        if (Array.isArray(value)) {
          for (let index = 0; index < value.length; index++) {
            if (value[index] === undefined)
              throw new TypeError(`${command}: ${path}[${index}] is undefined`);
            check(value[index], `${path}[${index}]`, depth + 1, ancestors);
          }
        } else {
          for (const key of Object.keys(value)) {
            if (!isWellFormed(key))
              throw new TypeError(`${command}: a key in ${path} has a lone UTF-16 surrogate`);
            const member = (value as Record<string, unknown>)[key];
            if (member !== undefined) check(member, `${path}.${key}`, depth + 1, ancestors);
          }
        }
        ancestors.delete(value);
        return;
      }
      default:
        throw new TypeError(`${command}: ${path} is a ${typeof value}, which JSON cannot carry`);
    }
  }
}

export const MAX_DEPTH = 1000;

// String.prototype.isWellFormed exists from Node 20 but not in the ES2023 lib types.
const isWellFormed = (text: string): boolean =>
  (text as unknown as { isWellFormed(): boolean }).isWellFormed();
