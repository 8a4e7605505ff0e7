/**
 * Reading untrusted input: every reader records what is wrong, with its field
 * path, and returns undefined instead of throwing, so that validation reports
 * every problem of a spec at once.
 */
import { describeValue } from "@qemu-kvm/core";
import type { SpecIssue } from "../errors.js";
import type { PortSpec } from "../spec/values.js";
import { validPort } from "../syntax/host-forward.js";

export class Issues {
  readonly list: SpecIssue[] = [];
  add(path: string, message: string, expected?: string): void {
    this.list.push(expected === undefined ? { path, message } : { path, message, expected });
  }
}

/**
 * The most entries a list of a spec may have: more is one issue, and nothing of
 * the list is read (`new Array(2 ** 32 - 1)` is a list of holes that would take
 * minutes to walk).
 */
export const MAX_LIST_ENTRIES = 100_000;

export const field = (path: string, key: string) => (path === "" ? key : `${path}.${key}`);
export const item = (path: string, index: number) => `${path}[${index}]`;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Reads one untrusted object: every reader records issues and returns undefined on error. */
export class Reader {
  constructor(
    readonly issues: Issues,
    readonly object: Record<string, unknown>,
    readonly path: string,
  ) {}

  static open(
    issues: Issues,
    value: unknown,
    path: string,
    allowed: readonly string[],
    expected = "an object",
  ): Reader | undefined {
    if (!isPlainObject(value)) {
      issues.add(path, `is ${describeValue(value)}`, expected);
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key))
        issues.add(field(path, key), "is not a known field", `one of ${allowed.join(", ")}`);
    }
    return new Reader(issues, value, path);
  }

  at(key: string): string {
    return field(this.path, key);
  }

  has(key: string): boolean {
    return this.object[key] !== undefined;
  }

  raw(key: string): unknown {
    return this.object[key];
  }

  string(
    key: string,
    options: {
      required?: boolean;
      test?: (value: string) => boolean;
      expected?: string;
      allowEmpty?: boolean;
    } = {},
  ): string | undefined {
    const value = this.object[key];
    const path = this.at(key);
    if (value === undefined) {
      if (options.required) this.issues.add(path, "is missing", options.expected ?? "a string");
      return undefined;
    }
    if (typeof value !== "string") {
      this.issues.add(path, `is ${describeValue(value)}`, options.expected ?? "a string");
      return undefined;
    }
    if (value.includes("\0")) {
      this.issues.add(path, "contains a NUL byte, which no process argument can carry");
      return undefined;
    }
    if (value === "" && !options.allowEmpty) {
      this.issues.add(path, "is empty", options.expected ?? "a non-empty string");
      return undefined;
    }
    if (options.test && !options.test(value)) {
      this.issues.add(path, `${describeValue(value)} is not valid`, options.expected);
      return undefined;
    }
    return value;
  }

  integer(
    key: string,
    min: number,
    max: number,
    options: { required?: boolean; expected?: string } = {},
  ): number | undefined {
    const value = this.object[key];
    if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max)
      return value;
    const path = this.at(key);
    const expected = options.expected ?? `an integer ${min}–${max}`;
    if (value === undefined) {
      if (options.required) this.issues.add(path, "is missing", expected);
      return undefined;
    }
    if (typeof value !== "number" || !Number.isInteger(value)) {
      this.issues.add(path, `is ${describeValue(value)}`, expected);
      return undefined;
    }
    if (value < min || value > max) {
      this.issues.add(path, `${value} is out of range`, expected);
      return undefined;
    }
    return value;
  }

  boolean(key: string): boolean | undefined {
    const value = this.object[key];
    if (value === undefined) return undefined;
    if (typeof value !== "boolean") {
      this.issues.add(this.at(key), `is ${describeValue(value)}`, "true or false");
      return undefined;
    }
    return value;
  }

  choice<T extends string>(
    key: string,
    values: readonly T[],
    options: { required?: boolean; hint?: (value: string) => string | undefined } = {},
  ): T | undefined {
    const value = this.object[key];
    if (value !== undefined && typeof value === "string" && values.includes(value as T))
      return value as T;
    const path = this.at(key);
    const expected = `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`;
    if (value === undefined) {
      if (options.required) this.issues.add(path, "is missing", expected);
      return undefined;
    }
    const hint = typeof value === "string" ? options.hint?.(value) : undefined;
    this.issues.add(
      path,
      `${describeValue(value)} is not supported${hint ? `: ${hint}` : ""}`,
      expected,
    );
    return undefined;
  }

  list(key: string): { value: unknown; path: string }[] {
    const value = this.object[key];
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
      this.issues.add(this.at(key), `is ${describeValue(value)}`, "an array");
      return [];
    }
    if (value.length > MAX_LIST_ENTRIES) {
      this.issues.add(this.at(key), `has ${value.length} entries`, `at most ${MAX_LIST_ENTRIES}`);
      return [];
    }
    // Array.from, not map: a hole of a sparse array is an entry, `undefined`.
    return Array.from(value, (entry, index) => ({ value: entry, path: item(this.at(key), index) }));
  }

  /** A port number, or `"auto"` (reported unless unassigned ports are allowed). */
  port(key: string, allowUnassigned: boolean, required = true): PortSpec | undefined {
    const value = this.object[key];
    const path = this.at(key);
    if (value === undefined) {
      if (required) this.issues.add(path, "is missing", 'a port number 1–65535 or "auto"');
      return undefined;
    }
    if (value === "auto") {
      if (!allowUnassigned)
        this.issues.add(
          path,
          'is "auto": the port must be assigned before building',
          "a port number 1–65535 (lease one and call assignPorts)",
        );
      return "auto";
    }
    if (!validPort(value)) {
      this.issues.add(
        path,
        typeof value === "number" ? `${value} is out of range` : `is ${describeValue(value)}`,
        'a port number 1–65535 or "auto"',
      );
      return undefined;
    }
    return value;
  }
}
