/**
 * Kernel module load order from each module's `depends=` string (Debian's
 * unpacked kernel package has no modules.dep). Pure.
 */
import { GuestBuildError } from "./errors.js";

/** The kernel treats `-` and `_` in module names alike; files use either. */
export function moduleName(name: string): string {
  return name.replace(/\.ko(\.[gx]z|\.zst)?$/, "").replaceAll("-", "_");
}

/** `"virtio_ring,virtio"` → `["virtio_ring", "virtio"]`; `""` → `[]`. */
export function parseDepends(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name.length > 0)
    .map(moduleName);
}

/**
 * Every module `roots` need, each after its dependencies, each once.
 * `dependsOf(name)` returns a module's dependencies, or undefined if there is no
 * such module. Deterministic: roots in the order given, dependencies in the
 * order `depends=` lists them. Throws on a missing module or a cycle.
 */
export function moduleLoadOrder(
  roots: readonly string[],
  dependsOf: (name: string) => readonly string[] | undefined,
): string[] {
  const order: string[] = [];
  const done = new Set<string>();
  const visiting: string[] = [];
  const visit = (raw: string, neededBy: string | undefined) => {
    const name = moduleName(raw);
    if (done.has(name)) return;
    if (visiting.includes(name))
      throw new GuestBuildError(
        `kernel modules depend on each other in a cycle: ${[...visiting, name].join(" → ")}`,
      );
    const depends = dependsOf(name);
    if (!depends)
      throw new GuestBuildError(
        `kernel module ${name}${neededBy ? ` (needed by ${neededBy})` : ""} is not in the kernel package`,
      );
    visiting.push(name);
    for (const dependency of depends) visit(dependency, name);
    visiting.pop();
    done.add(name);
    order.push(name);
  };
  for (const root of roots) visit(root, undefined);
  return order;
}

/**
 * `moduleLoadOrder` split into stages: each stage lists the modules its roots need
 * that no earlier stage loaded, in load order. Loading the stages one after the
 * other loads every module after its dependencies.
 */
export function moduleLoadStages<Stage extends string>(
  stages: ReadonlyArray<readonly [Stage, readonly string[]]>,
  dependsOf: (name: string) => readonly string[] | undefined,
): Array<[Stage, string[]]> {
  const roots: string[] = [];
  let loaded = 0;
  return stages.map(([stage, stageRoots]) => {
    roots.push(...stageRoots);
    const order = moduleLoadOrder(roots, dependsOf);
    const added = order.slice(loaded);
    loaded = order.length;
    return [stage, added];
  });
}
