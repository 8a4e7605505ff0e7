/**
 * Builds the guest into an empty directory: Debian packages → vmlinux, vmlinuz,
 * an initramfs, a test SSH key and the manifest. `ensureGuest()` calls it under
 * the build lock, in a temporary directory it then renames into the cache.
 */
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import {
  type DebianPackage,
  downloadPackages,
  resolveKernelImage,
  unpackPackage,
} from "./debian-packages.js";
import { moduleInfo } from "./elf.js";
import { GuestBuildError } from "./errors.js";
import { guestFiles } from "./guest-files.js";
import { copyInto, linkApplets, packInitramfs, writeTree } from "./initramfs.js";
import { extractVmlinux } from "./kernel-image.js";
import { moduleLoadStages, moduleName, parseDepends } from "./module-order.js";
import {
  GUEST_CREDENTIALS,
  GUEST_MODULE_STAGES,
  GUEST_PACKAGES,
  GUEST_PROGRAMS,
  KERNEL_APPEND,
  KERNEL_METAPACKAGE,
  PASSWORD_SALT,
  SSH_KEY_COMMENT,
} from "./recipe.js";
import { runCommand } from "./run-command.js";
import { sha512Crypt } from "./sha512-crypt.js";
import { findProgramLibraries } from "./shared-libraries.js";
import { generateSshKeyPair } from "./ssh-key.js";
import { GUEST_FILES, type GuestManifest, MANIFEST_FILE, MANIFEST_FORMAT } from "./test-guest.js";

export type BuildStep =
  | "resolve"
  | "download"
  | "unpack"
  | "kernel"
  | "modules"
  | "libraries"
  | "initramfs"
  | "done";

export interface BuildProgress {
  step: BuildStep;
  message: string;
  /** Since the build started. */
  elapsedMs: number;
}

export interface BuildOptions {
  signal?: AbortSignal;
  /** Per build command (apt-get, dpkg, xz, cpio). Default 10 minutes. */
  commandTimeoutMs?: number;
  onProgress?: (progress: BuildProgress) => void;
}

/** Every `*.ko` under `directory`: module name → path. */
async function indexModules(directory: string): Promise<Map<string, string>> {
  const index = new Map<string, string>();
  for (const entry of await readdir(directory, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(".ko"))
      index.set(moduleName(entry.name), join(entry.parentPath, entry.name));
  }
  return index;
}

async function onlyEntry(directory: string, what: string): Promise<string> {
  const entries = await readdir(directory);
  if (entries.length !== 1 || !entries[0])
    throw new GuestBuildError(`expected one ${what} in ${directory}, found: ${entries.join(", ")}`);
  return entries[0];
}

/** Builds the guest of `recipeHash` into `output` (an existing, empty directory). */
export async function buildGuest(
  output: string,
  recipeHash: string,
  options: BuildOptions = {},
): Promise<GuestManifest> {
  const started = performance.now();
  const progress = (step: BuildStep, message: string) =>
    options.onProgress?.({ step, message, elapsedMs: performance.now() - started });
  const commandOptions = { signal: options.signal, timeoutMs: options.commandTimeoutMs };
  const work = join(output, "work");
  const debs = join(work, "debs");
  const packagesRoot = join(work, "packages");
  const kernelRoot = join(work, "kernel");
  const tree = join(work, "initramfs");
  for (const directory of [debs, packagesRoot, kernelRoot, tree])
    await mkdir(directory, { recursive: true });

  progress("resolve", `resolving ${KERNEL_METAPACKAGE}`);
  const kernelPackage = await resolveKernelImage(KERNEL_METAPACKAGE, commandOptions);

  const names = [kernelPackage, ...GUEST_PACKAGES];
  progress("download", `apt-get download ${names.length} packages (${kernelPackage}, …)`);
  const downloaded = await downloadPackages(names, debs, commandOptions);
  const [kernelDeb, ...otherDebs] = downloaded as [DebianPackage, ...DebianPackage[]];

  progress("unpack", `dpkg -x ${downloaded.length} packages`);
  // The kernel (the big one) and the rest side by side; if one fails, the other is
  // stopped and waited for, so nothing runs on in a directory about to be removed.
  const sibling = new AbortController();
  const unpackOptions = {
    ...commandOptions,
    signal: options.signal ? AbortSignal.any([options.signal, sibling.signal]) : sibling.signal,
  };
  let firstError: { error: unknown } | undefined;
  await Promise.allSettled(
    [
      unpackPackage(kernelDeb, kernelRoot, unpackOptions),
      (async () => {
        for (const deb of otherDebs) await unpackPackage(deb, packagesRoot, unpackOptions);
      })(),
    ].map((task) =>
      task.catch((error: unknown) => {
        firstError ??= { error };
        sibling.abort(error);
      }),
    ),
  );
  if (firstError) throw firstError.error;
  await rm(debs, { recursive: true, force: true });

  const kernelVersion = await onlyEntry(join(kernelRoot, "lib", "modules"), "kernel version");
  progress("kernel", `extracting the uncompressed vmlinux of ${kernelVersion}`);
  const vmlinuz = join(kernelRoot, "boot", `vmlinuz-${kernelVersion}`);
  await copyFile(vmlinuz, join(output, GUEST_FILES.compressedKernel));
  await extractVmlinux(vmlinuz, join(output, GUEST_FILES.kernel), commandOptions);

  const stageRoots = Object.entries(GUEST_MODULE_STAGES) as Array<
    [keyof typeof GUEST_MODULE_STAGES, readonly string[]]
  >;
  const rootModules = stageRoots.flatMap(([, roots]) => roots);
  progress("modules", `ordering ${rootModules.join(", ")} and their dependencies`);
  const moduleFiles = await indexModules(join(kernelRoot, "lib", "modules", kernelVersion));
  const depends = new Map<string, string[]>();
  const pending = [...rootModules];
  while (pending.length > 0) {
    const name = moduleName(pending.pop()!);
    const file = moduleFiles.get(name);
    if (depends.has(name) || !file) continue; // a missing one is reported by moduleLoadOrder
    const info = moduleInfo(await readFile(file), basename(file));
    const needed = parseDepends(info.get("depends")?.[0]);
    depends.set(name, needed);
    pending.push(...needed);
  }
  const moduleStages = Object.fromEntries(
    moduleLoadStages(stageRoots, (name) => depends.get(name)),
  ) as Record<keyof typeof GUEST_MODULE_STAGES, string[]>;
  const moduleOrder = Object.values(moduleStages).flat();

  progress("libraries", `finding the libraries of ${GUEST_PROGRAMS.join(", ")}`);
  const { interpreter, libraries } = await findProgramLibraries(packagesRoot, GUEST_PROGRAMS);

  progress("initramfs", "assembling and packing the initramfs");
  const keys = generateSshKeyPair(SSH_KEY_COMMENT);
  await writeTree(
    tree,
    guestFiles({
      moduleStages,
      passwordHash: sha512Crypt(GUEST_CREDENTIALS.password, PASSWORD_SALT),
      authorizedKey: keys.publicKey,
      kernelVersion,
    }),
  );
  const busybox = join(packagesRoot, "bin", "busybox");
  await copyInto(tree, busybox, "bin/busybox", 0o755);
  const { stdout: applets } = await runCommand(busybox, ["--list-full"], commandOptions);
  await linkApplets(
    tree,
    applets.split("\n").filter((line) => line.length > 0),
  );
  for (const program of GUEST_PROGRAMS)
    await copyInto(tree, join(packagesRoot, program), program, 0o755);
  const libraryDirectory = "lib/x86_64-linux-gnu";
  for (const [soname, path] of libraries)
    await copyInto(tree, join(packagesRoot, path), `${libraryDirectory}/${soname}`, 0o755);
  const loaderName = basename(interpreter);
  if (!libraries.has(loaderName))
    throw new GuestBuildError(`the loader ${interpreter} is not among the libraries found`);
  if (interpreter !== `/${libraryDirectory}/${loaderName}`)
    await writeTree(tree, [
      { kind: "symlink", path: interpreter.slice(1), target: `/${libraryDirectory}/${loaderName}` },
    ]);
  for (const name of moduleOrder)
    await copyInto(tree, moduleFiles.get(name)!, `lib/modules/${name}.ko`, 0o644);
  await packInitramfs(busybox, tree, join(output, GUEST_FILES.initrd), commandOptions);

  await writeFile(join(output, GUEST_FILES.sshPrivateKey), keys.privateKey, { mode: 0o600 });
  await writeFile(join(output, GUEST_FILES.sshPublicKey), `${keys.publicKey}\n`, { mode: 0o644 });
  await rm(work, { recursive: true, force: true });

  const size = async (name: string) => (await stat(join(output, name))).size;
  const manifest: GuestManifest = {
    format: MANIFEST_FORMAT,
    recipeHash,
    kernelVersion,
    append: KERNEL_APPEND,
    packages: downloaded.map(({ name, version }) => ({ name, version })),
    modules: moduleOrder,
    libraries: [...libraries.keys()],
    interpreter,
    sshPublicKey: keys.publicKey,
    sizes: {
      kernelBytes: await size(GUEST_FILES.kernel),
      compressedKernelBytes: await size(GUEST_FILES.compressedKernel),
      initrdBytes: await size(GUEST_FILES.initrd),
    },
    builtAt: new Date().toISOString(),
    buildMs: Math.round(performance.now() - started),
  };
  await writeFile(join(output, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  progress("done", `built in ${(manifest.buildMs / 1000).toFixed(1)} s`);
  return manifest;
}
