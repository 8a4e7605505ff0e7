import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./readme-blocks.js";

/** The published packages, their folders and the error code areas each owns (see core's README). */
export const PACKAGES = [
  { name: "@qemu-kvm/core", dir: "packages/core", areas: ["LINE"] },
  { name: "@qemu-kvm/bootline", dir: "packages/bootline", areas: ["BOOTLINE"] },
  { name: "@qemu-kvm/host", dir: "packages/host", areas: ["HOST"] },
  { name: "@qemu-kvm/monitor", dir: "packages/monitor", areas: ["QMP", "HMP"] },
  { name: "@qemu-kvm/control", dir: "packages/control", areas: ["CONSOLE", "QGA", "CONTROL"] },
  { name: "@qemu-kvm/pool", dir: "packages/pool", areas: ["POOL"] },
  { name: "qemu-kvm", dir: "packages/qemu-kvm", areas: ["VM"] },
] as const;

/** The codes every package may use. */
export const SHARED_CODES = ["ERR_TIMEOUT", "ERR_ABORTED", "ERR_INVALID_ARGUMENT"];

/** Every `.ts` file under `dir` (relative to the root), recursively. */
export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

/** The error codes a package's sources name (`"ERR_…"` string literals outside comments), with where. */
export function codesIn(dir: string): Map<string, string[]> {
  const codes = new Map<string, string[]>();
  for (const file of sourceFiles(join(dir, "src"))) {
    // Comments may name other packages' codes; only string literals define codes.
    const text = readFileSync(join(ROOT, file), "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\/\/.*$/gm, "");
    for (const match of text.matchAll(/["'](ERR_[A-Z0-9_]+)["']/g))
      codes.set(match[1]!, [...(codes.get(match[1]!) ?? []), file]);
  }
  return codes;
}
