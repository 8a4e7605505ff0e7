/**
 * `pnpm guest` (= `tsx src/cli.ts build`): builds or reuses the test guest and
 * prints where its files are. `clean` removes cache entries of other recipes.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { currentRecipeHash, defaultCacheDirectory, ensureGuest } from "./ensure-guest.js";

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

async function clean(): Promise<void> {
  const directory = defaultCacheDirectory();
  const keep = await currentRecipeHash();
  let names: string[] = [];
  try {
    names = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  for (const name of names) {
    if (name === keep || name.startsWith(`.tmp-${keep}-`)) continue;
    await rm(join(directory, name), { recursive: true, force: true });
    console.log(`removed ${join(directory, name)}`);
  }
}

const command = process.argv[2] ?? "build";
try {
  if (command === "build") await build();
  else if (command === "clean") await clean();
  else {
    console.error(`usage: cli.ts [build|clean]`);
    process.exitCode = 2;
  }
} catch (error) {
  const { code, message } = error as { code?: string; message?: string };
  console.error(`test guest: ${code ?? "error"}: ${message ?? String(error)}`);
  process.exitCode = 1;
}
