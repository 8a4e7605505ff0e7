/**
 * `pnpm guest` (= `tsx src/cli.ts build`): builds or reuses the test guest and
 * prints where its files are. `qemu RELEASE` (`pnpm --filter @qemu-kvm/test-guest
 * run ensure-qemu 10.0`) fetches or reuses a second QEMU and prints its wrapper.
 * `clean` removes cache entries of other recipes.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { currentRecipeHash, defaultCacheDirectory, ensureGuest } from "./ensure-guest.js";
import { ensureQemu } from "./qemu/ensure-qemu.js";
import { currentQemuEntryNames } from "./qemu/qemu-release.js";

/** For people to copy and paste (nothing runs it): POSIX single quotes where needed. */
function quoteForDisplay(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

async function build(): Promise<void> {
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort(new Error("interrupted (SIGINT)")));
  const guest = await ensureGuest({
    signal: controller.signal,
    onProgress: ({ message, elapsedMs }) =>
      console.error(`[${(elapsedMs / 1000).toFixed(1).padStart(5)} s] ${message}`),
  });
  const { user, password } = guest.credentials;
  const rows: Array<[string, string]> = [
    ["recipe", guest.recipeHash],
    ["kernel", `${guest.kernelPath} (Linux ${guest.kernelVersion}, uncompressed ELF)`],
    ["vmlinuz", `${guest.compressedKernelPath} (Debian's compressed image)`],
    ["initrd", guest.initrdPath],
    ["append", guest.append],
    ["login", `${user} / ${password}`],
    ["ssh key", guest.sshPrivateKeyPath],
    [
      "qemu",
      ["qemu-system-x86_64", ...guest.qemuArgs({ serial: { type: "unix", path: "serial.sock" } })]
        .map(quoteForDisplay)
        .join(" "),
    ],
  ];
  for (const [name, value] of rows) console.log(`${name.padEnd(8)} ${value}`);
}

async function qemu(release: string | undefined): Promise<void> {
  if (release === undefined) throw new Error("usage: cli.ts qemu RELEASE (e.g. 10.0)");
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort(new Error("interrupted (SIGINT)")));
  const fetched = await ensureQemu(release, {
    signal: controller.signal,
    onProgress: ({ message, elapsedMs }) =>
      console.error(`[${(elapsedMs / 1000).toFixed(1).padStart(5)} s] ${message}`),
  });
  const rows: Array<[string, string]> = [
    ["version", `${fetched.version} (Debian ${fetched.debianVersion})`],
    ["binary", fetched.binary],
    ["real", fetched.realBinary],
    ["firmware", fetched.firmwareDir],
    ["PATH", `${fetched.binDirectory}:$PATH makes it the default qemu-system-x86_64`],
  ];
  for (const [name, value] of rows) console.log(`${name.padEnd(8)} ${value}`);
}

async function clean(): Promise<void> {
  const directory = defaultCacheDirectory();
  const keep = await currentRecipeHash();
  const qemus = new Set(currentQemuEntryNames());
  let names: string[] = [];
  try {
    names = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  for (const name of names) {
    if (name === keep || name.startsWith(`.tmp-${keep}-`) || qemus.has(name)) continue;
    await rm(join(directory, name), { recursive: true, force: true });
    console.log(`removed ${join(directory, name)}`);
  }
}

const command = process.argv[2] ?? "build";
try {
  if (command === "build") await build();
  else if (command === "qemu") await qemu(process.argv[3]);
  else if (command === "clean") await clean();
  else {
    console.error(`usage: cli.ts [build|qemu RELEASE|clean]`);
    process.exitCode = 2;
  }
} catch (error) {
  const { code, message } = error as { code?: string; message?: string };
  console.error(`test guest: ${code ?? "error"}: ${message ?? String(error)}`);
  process.exitCode = 1;
}
