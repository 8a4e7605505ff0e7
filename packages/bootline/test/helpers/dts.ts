/** The DTS corpus (test/fixtures/dts-conf) and what a caller does with a DTS spec before building. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { assignPorts, unassignedPorts, type VmSpec } from "@qemu-kvm/bootline";

export const corpusDir = join(import.meta.dirname, "..", "fixtures", "dts-conf");

/** A file of the corpus, as text. */
export function readCorpus(file: string): string {
  return readFileSync(join(corpusDir, file), "utf8");
}

/** DTS's `conf/virt_global.cfg`: the defaults of every VM section. */
export const globals = readCorpus("virt_global.cfg");

/** Ports DTS allocated, assigned from 6000 up (displays from 5901), so that the spec builds. */
export function withPorts(spec: VmSpec): VmSpec {
  const requests = unassignedPorts(spec);
  return assignPorts(
    spec,
    Object.fromEntries(
      requests.map((request, index) => [
        request.field,
        request.kind === "display" ? 5901 + index : 6000 + index,
      ]),
    ),
  );
}

/** The config files of the corpus, sorted. */
export function corpusFiles(): string[] {
  return readdirSync(corpusDir)
    .filter((file) => file.endsWith(".cfg"))
    .sort();
}
