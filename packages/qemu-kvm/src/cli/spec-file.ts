/**
 * A spec file: a `VmSpec` as JSON or YAML, or one VM section of a DTS config
 * (`.cfg`, read by bootline's `readDtsConfig`). What the spec says is checked
 * by bootline when it is built; here only what makes a file unusable.
 */
import { basename, extname } from "node:path";
import { type DtsVm, dtsVmSections, readDtsConfig, type VmSpec } from "@qemu-kvm/bootline";
import { parse as parseYaml } from "yaml";
import { CommandLineError } from "./errors.js";
import type { SpecSource } from "./invocation.js";
import { readBounded } from "./limits.js";

/** A spec file larger than this is not a spec. */
const MAX_SPEC_BYTES = 1 << 20;

/** The spec, and the DTS section it came from (which brings its login, control and boot timeout). */
export interface LoadedSpec {
  readonly spec: VmSpec;
  readonly dts: DtsVm | undefined;
}

function fail(source: SpecSource, verb: string, message: string, cause?: unknown): never {
  throw new CommandLineError({ field: "FILE", verb, value: source.file, message, cause });
}

function parseData(text: string, source: SpecSource, verb: string, yaml: boolean): unknown {
  try {
    return yaml ? parseYaml(text, { maxAliasCount: 100 }) : JSON.parse(text);
  } catch (error) {
    return fail(
      source,
      verb,
      `${source.file} is not ${yaml ? "YAML" : "JSON"}: ${(error as Error).message}`,
      error,
    );
  }
}

/** One VM section: `--section`, or the only one. */
function readDts(text: string, source: SpecSource, verb: string): DtsVm {
  const file = basename(source.file);
  const sections = dtsVmSections(text);
  const section = source.section ?? (sections.length === 1 ? sections[0] : undefined);
  if (section === undefined)
    fail(
      source,
      verb,
      sections.length === 0
        ? `${source.file} has no VM section`
        : `${source.file} has ${sections.length} VM sections (${sections.join(", ")}): choose one with --section`,
    );
  return readDtsConfig(text, undefined, { file, sections: [section] }).get(section)!;
}

/** The spec with `--name` and `--emulator` applied. */
function amended(spec: VmSpec, source: SpecSource): VmSpec {
  return {
    ...spec,
    ...(source.name !== undefined ? { name: source.name } : {}),
    ...(source.emulator !== undefined ? { emulator: source.emulator } : {}),
  };
}

/** Reads the spec file `source` names. Throws `CommandLineError` for a file that cannot be a spec. */
export async function loadSpec(source: SpecSource, verb: string): Promise<LoadedSpec> {
  const extension = extname(source.file).toLowerCase();
  if (![".json", ".yaml", ".yml", ".cfg"].includes(extension))
    fail(source, verb, `${source.file}: a spec file ends in .json, .yaml, .yml or .cfg (DTS)`);
  const text = await readBounded(source.file, MAX_SPEC_BYTES, "FILE", verb);
  if (extension === ".cfg") {
    const dts = readDts(text, source, verb);
    return { spec: amended(dts.spec, source), dts: { ...dts, spec: amended(dts.spec, source) } };
  }
  if (source.section !== undefined)
    fail(source, verb, "--section is for DTS configs (.cfg): a JSON or YAML file holds one spec");
  const data = parseData(text, source, verb, extension !== ".json");
  if (typeof data !== "object" || data === null || Array.isArray(data))
    fail(source, verb, `${source.file} must hold one VM spec, an object with a name`);
  const spec = amended(data as VmSpec, source);
  if (typeof spec.name !== "string")
    fail(source, verb, `the spec in ${source.file} has no name: give it one, or --name`);
  return { spec, dts: undefined };
}
