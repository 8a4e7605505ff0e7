/**
 * apt with a configuration of its own: a sources list naming one suite, and its
 * own lists, cache, status and preferences under a private folder. The system's
 * /etc/apt is only read (apt.conf.d, e.g. a proxy, and the keyring), never
 * written, and the system's lists are neither used nor touched.
 */
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type DebianPackage, parseDebFileName } from "../debian-packages.js";
import { GuestBuildError } from "../errors.js";
import { type RunResult, runCommand } from "../run-command.js";
import { type QemuRelease, sourcesListLine } from "./qemu-release.js";

export interface PrivateApt {
  /** The folder holding the configuration, lists and cache. */
  readonly directory: string;
  /** `-o` options for `apt-get`, in front of the verb. */
  readonly options: readonly string[];
}

export interface AptCallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** The `-o` options pointing apt at `directory` only. Pure. */
export function privateAptOptions(directory: string, asRoot: boolean): string[] {
  const settings: Array<[string, string]> = [
    ["Dir::Etc::SourceList", join(directory, "sources.list")],
    ["Dir::Etc::SourceParts", join(directory, "sources.list.d")],
    ["Dir::Etc::Preferences", join(directory, "preferences")],
    ["Dir::Etc::PreferencesParts", join(directory, "preferences.d")],
    ["Dir::State", join(directory, "state")],
    ["Dir::State::status", join(directory, "state", "status")],
    ["Dir::Cache", join(directory, "cache")],
    ["Acquire::Languages", "none"],
    // As root, apt drops to `_apt`, who may not read a private folder (see debian-packages.ts).
    ...(asRoot ? ([["APT::Sandbox::User", "root"]] as Array<[string, string]>) : []),
  ];
  return settings.flatMap(([name, value]) => ["-o", `${name}=${value}`]);
}

/** Writes the configuration for `release`'s suite into `directory` (created). */
export async function createPrivateApt(
  directory: string,
  release: QemuRelease,
): Promise<PrivateApt> {
  for (const sub of [
    "sources.list.d",
    "preferences.d",
    "state/lists/partial",
    "cache/archives/partial",
  ])
    await mkdir(join(directory, sub), { recursive: true });
  await writeFile(join(directory, "sources.list"), sourcesListLine(release));
  await writeFile(join(directory, "state", "status"), "");
  return { directory, options: privateAptOptions(directory, process.getuid?.() === 0) };
}

async function apt(
  config: PrivateApt,
  args: readonly string[],
  what: string,
  options: AptCallOptions & { cwd?: string },
): Promise<RunResult> {
  try {
    return await runCommand("apt-get", ["-q", ...config.options, ...args], options);
  } catch (error) {
    if ((error as { code?: string }).code !== "ERR_GUEST_COMMAND") throw error;
    throw new GuestBuildError(`${what} failed: ${(error as Error).message}`, { cause: error });
  }
}

/** `apt-get update` of the private lists only (a few hundred KB). */
export async function updatePrivateLists(
  config: PrivateApt,
  release: QemuRelease,
  options: AptCallOptions = {},
): Promise<void> {
  await apt(config, ["update"], `apt-get update of ${release.suite} (needs ${release.mirror})`, {
    timeoutMs: 300_000,
    ...options,
  });
}

/** `apt-get download NAME/SUITE…` into `directory`; the packages in the order asked. */
export async function downloadFromSuite(
  config: PrivateApt,
  release: QemuRelease,
  directory: string,
  options: AptCallOptions = {},
): Promise<DebianPackage[]> {
  const targets = release.packages.map((name) => `${name}/${release.suite}`);
  await apt(config, ["download", "--", ...targets], `apt-get download from ${release.suite}`, {
    timeoutMs: 600_000,
    ...options,
    cwd: directory,
  });
  const downloaded = new Map<string, DebianPackage>();
  for (const fileName of await readdir(directory)) {
    const parsed = parseDebFileName(fileName);
    if (parsed) downloaded.set(parsed.name, { ...parsed, file: join(directory, fileName) });
  }
  return release.packages.map((name) => {
    const found = downloaded.get(name);
    if (!found) throw new GuestBuildError(`apt-get download gave no .deb for ${name}`);
    return found;
  });
}
