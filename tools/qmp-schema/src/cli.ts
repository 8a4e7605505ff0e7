/**
 * `pnpm --filter @qemu-kvm/qmp-schema run generate [--check] [VERSION=BINARY[,DATADIR]]…`
 *
 * Regenerates packages/monitor/src/schema/ from live QEMUs. Without
 * arguments: the system QEMU (7.2) and QEMU 10.0 from `QEMU_KVM_QEMU10_BINARY`, else
 * the test guest's cached 10.0 (fetched if it is not there yet).
 * `--check` writes nothing and exits 1 when a committed file differs.
 */
import { readFile } from "node:fs/promises";
import { ensureQemu } from "@qemu-kvm/test-guest";
import { QEMU10_BINARY_VARIABLE, type QemuBuild, qemuBuilds } from "@qemu-kvm/testkit";
import { SCHEMA_DIRECTORY } from "./directory.js";
import { generateSchemas, writeFiles } from "./generate.js";

function parseBuild(argument: string): QemuBuild {
  const match = /^(\d+\.\d+)=([^,]+)(?:,(.+))?$/.exec(argument);
  if (!match)
    throw new Error(
      `expected VERSION=BINARY[,DATADIR], e.g. 10.0=/opt/qemu/bin/qemu-system-x86_64: ${argument}`,
    );
  return { version: match[1]!, binary: match[2]!, args: match[3] ? ["-L", match[3]] : [] };
}

async function main(argv: readonly string[]): Promise<number> {
  const check = argv.includes("--check");
  const listed = argv.filter((argument) => argument !== "--check").map(parseBuild);
  if (listed.length === 0 && !process.env[QEMU10_BINARY_VARIABLE])
    process.env[QEMU10_BINARY_VARIABLE] = (await ensureQemu("10.0")).binary;
  const files = await generateSchemas(listed.length ? listed : qemuBuilds(), SCHEMA_DIRECTORY);
  if (check) {
    const stale: string[] = [];
    for (const [name, content] of files) {
      const committed = await readFile(`${SCHEMA_DIRECTORY}${name}`, "utf8").catch(() => "");
      if (committed !== content) stale.push(name);
    }
    process.stdout.write(stale.length ? `stale: ${stale.join(", ")}\n` : "up to date\n");
    return stale.length ? 1 : 0;
  }
  const changed = await writeFiles(files, SCHEMA_DIRECTORY);
  process.stdout.write(changed.length ? `wrote ${changed.join(", ")}\n` : "unchanged\n");
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  },
);
