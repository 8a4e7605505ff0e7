/**
 * The one error family of qemu-kvm. Every error a package throws or rejects
 * with is recognised by `QemuKvmError.isInstance(error)` and has a stable
 * `code` to match on: the shared codes below, or `ERR_<AREA>_<WHAT>` where each
 * package owns its areas (see the README of `@qemu-kvm/core`).
 *
 * `isInstance` works across duplicated copies of these packages (two versions
 * in one `node_modules`, a bundle beside a dependency): each class leaves a
 * `Symbol.for` brand on its prototype, and `isInstance` looks for the brand of
 * the class it is called on, as undici and the AI SDK do. `instanceof` keeps
 * its usual meaning (one copy only).
 */

/** The codes every package may use: not tied to one package. */
export type SharedErrorCode = "ERR_TIMEOUT" | "ERR_ABORTED" | "ERR_INVALID_ARGUMENT";

const BRAND_PREFIX = "@qemu-kvm/core.error.";

/** The root brand: every error of the family carries it. */
const ROOT_ID = "QemuKvmError";

/** A class of the family: its `errorId` names its brand. */
interface BrandedClass {
  readonly errorId: string;
  readonly prototype: object;
}

function brandSymbol(id: string): symbol {
  return Symbol.for(BRAND_PREFIX + id);
}

/**
 * Leaves the brands of `target` and of every ancestor that declares its own
 * `errorId` on their prototypes (once per class). Called by the constructors
 * of the two roots (`QemuKvmError` and `InvalidArgumentError`).
 */
export function markFamily(error: object, target: unknown): void {
  for (let cls = target as BrandedClass | null; cls && (cls as unknown) !== Error; ) {
    if (Object.hasOwn(cls, "errorId")) {
      const symbol = brandSymbol(cls.errorId);
      if (!Object.hasOwn(cls.prototype, symbol))
        Object.defineProperty(cls.prototype, symbol, { value: true });
    }
    cls = Object.getPrototypeOf(cls) as BrandedClass | null;
  }
  if (!(brandSymbol(ROOT_ID) in error))
    Object.defineProperty(Object.getPrototypeOf(error), brandSymbol(ROOT_ID), { value: true });
}

/** True when `value` carries the brand `id` (see {@link markFamily}). */
export function hasBrand(value: unknown, id: string): boolean {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    (value as Record<symbol, unknown>)[brandSymbol(id)] === true
  );
}

/**
 * `isInstance` for a class of the family: by brand when the class declares its
 * own `errorId`, else by `instanceof` (a subclass without an id is not mistaken
 * for its parent's other subclasses).
 */
export function isInstanceOf(cls: BrandedClass, value: unknown): boolean {
  if (Object.hasOwn(cls, "errorId")) return hasBrand(value, cls.errorId);
  return value instanceof (cls as unknown as abstract new () => object);
}

/**
 * The base class of every error of qemu-kvm (but one: `InvalidArgumentError`
 * extends `TypeError`, as a programmer error should, and carries the same
 * brand). Subclasses declare a literal `code` and a static `errorId`, which is
 * also their `name` (a literal, never derived from `constructor.name`, which
 * minifiers rename).
 */
export abstract class QemuKvmError extends Error {
  /** The brand `isInstance` looks for; each class that can be matched declares its own. */
  static readonly errorId: string = ROOT_ID;

  /**
   * True when `value` is an error of this class (or a subclass), made by any
   * copy of the package. `QemuKvmError.isInstance(e)` catches every error of
   * every qemu-kvm package, `InvalidArgumentError` included.
   */
  static isInstance<T>(this: abstract new (...args: never[]) => T, value: unknown): value is T {
    // biome-ignore lint/complexity/noThisInStatic: the class it is called on, e.g. TimeoutError.
    return isInstanceOf(this as unknown as BrandedClass, value);
  }

  /** Stable: match on it. `ERR_TIMEOUT`, `ERR_ABORTED`, `ERR_INVALID_ARGUMENT` or `ERR_<AREA>_<WHAT>`. */
  abstract readonly code: string;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    markFamily(this, new.target);
    // The class's own literal id, never `constructor.name` (which minifiers rename).
    this.name = (new.target as unknown as BrandedClass).errorId;
  }
}
