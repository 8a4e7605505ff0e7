import { InvalidArgumentError } from "@qemu-kvm/core";

/** QEMU's own limit is 1024 levels; a little less leaves room for the request around them. */
export const MAX_DEPTH = 1000;

/**
 * Checks that command arguments serialize to JSON that QEMU accepts, so that
 * no request can make QEMU answer with an error it cannot tie to an id (QEMU
 * answers a JSON parse error without the request's id, see qmp-spec.rst).
 * Throws `ERR_INVALID_ARGUMENT` whose `field` is the offending path
 * (`args.list[1]`).
 *
 * Rejected: strings with lone UTF-16 surrogates (QEMU: "not a valid Unicode
 * character"), nesting deeper than 1,000 levels (QEMU's limit is 1024),
 * non-finite numbers (JSON.stringify would send `null`), bigint, functions,
 * symbols, `undefined` inside arrays, and cycles. `undefined` object members
 * are omitted, as JSON.stringify does.
 */
export function checkArguments(command: string, args: unknown): void {
  if (args === undefined) return;
  if (args === null || typeof args !== "object" || Array.isArray(args))
    throw new InvalidArgumentError("args", `a plain object (the arguments of ${command})`, args);
  checkValue(command, args, "args", 1, new Set());
}

function refuse(command: string, path: string, value: unknown, problem: string): never {
  throw new InvalidArgumentError(path, "a value JSON carries exactly", value, {
    problem: `${problem} (arguments of QMP ${command})`,
  });
}

function checkValue(
  command: string,
  value: unknown,
  path: string,
  depth: number,
  ancestors: Set<object>,
): void {
  switch (typeof value) {
    case "string":
      if (!isWellFormed(value))
        refuse(command, path, value, "has a lone UTF-16 surrogate, which QEMU rejects");
      return;
    case "number":
      if (!Number.isFinite(value))
        refuse(command, path, value, "is not finite: JSON cannot carry it");
      return;
    case "boolean":
      return;
    case "object":
      if (value !== null) checkObject(command, value, path, depth, ancestors);
      return;
    default:
      refuse(command, path, value, `is a ${typeof value}, which JSON cannot carry`);
  }
}

function checkObject(
  command: string,
  value: object,
  path: string,
  depth: number,
  ancestors: Set<object>,
): void {
  if (depth > MAX_DEPTH) refuse(command, path, value, `is nested deeper than ${MAX_DEPTH} levels`);
  if (ancestors.has(value)) refuse(command, path, value, "is a cycle");
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return;
  ancestors.add(value);
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index];
      if (item === undefined)
        refuse(command, `${path}[${index}]`, item, "is undefined inside an array");
      checkValue(command, item, `${path}[${index}]`, depth + 1, ancestors);
    }
  } else {
    for (const key of Object.keys(value)) {
      if (!isWellFormed(key)) refuse(command, path, key, "has a key with a lone UTF-16 surrogate");
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) checkValue(command, member, `${path}.${key}`, depth + 1, ancestors);
    }
  }
  ancestors.delete(value);
}

// String.prototype.isWellFormed exists from Node 20 but not in the ES2023 lib types.
const isWellFormed = (text: string): boolean =>
  (text as unknown as { isWellFormed(): boolean }).isWellFormed();
