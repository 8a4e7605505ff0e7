/**
 * The conformance suite's environment: what the caller passes as `env` reaches
 * the command and nothing else. Over SSH a wrapper shell applies it; its own
 * variables (and `IFS`, `PATH`, the shell's startup files) must be out of the
 * caller's reach, so every transport gives what the local one gives.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { waitUntilGone } from "@qemu-kvm/testkit";
import { describe, expect } from "vitest";
import { createLocalHost, type EnvChanges, type Host } from "../../src/index.js";
import type { ConformanceTest } from "../helpers/conformance-test.js";
import { readPids } from "../helpers/pids.js";
import { writeScript } from "../helpers/scripts.js";

/** Every one-letter name, and the names a shell gives a meaning. */
const HOSTILE_NAMES = [
  ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_",
  "IFS",
  "ENV",
  "BASH_ENV",
  "CDPATH",
  "PS4",
  "HOME",
];

/** The command: prints every variable it got (a marker if unset), then where it runs. */
const PRINT = `for name; do eval "printf '%s=%s\\n' \\"\\$name\\" \\"\\\${$name-(unset)}\\""; done; pwd`;

async function printed(host: Host, names: string[], env: EnvChanges, cwd: string) {
  const { stdout } = await host.exec("sh", ["-c", PRINT, "print", ...names, "PATH"], { env, cwd });
  return stdout;
}

export function environmentSuites(test: ConformanceTest): void {
  describe("exec: the caller's environment reaches the command, and nothing else", () => {
    test("hostile names (c, n, IFS, PATH, ENV, BASH_ENV…) change nothing but the command's environment", async ({
      host,
      dir,
    }) => {
      const cwd = join(dir, "work dir");
      const bin = join(dir, "bin");
      await mkdir(cwd);
      await mkdir(bin);
      const marker = join(dir, "startup-file-ran");
      const startup = join(dir, "startup.sh");
      await writeScript(startup, `touch '${marker}'`);
      await writeScript(join(bin, "qk-only-here"), `printf 'found %s\\n' "$0"`);
      const path = `${bin}:/usr/local/bin:/usr/bin:/bin`;
      const env: Record<string, string | undefined> = {};
      for (const name of HOSTILE_NAMES) env[name] = `/etc x ${name} $(touch '${marker}')`;
      Object.assign(env, { c: "/etc", n: "0", IFS: "x", ENV: startup, BASH_ENV: startup });
      Object.assign(env, { PATH: path, CDPATH: "/etc", HOME: undefined });
      await using local = createLocalHost();
      const expected = await printed(local, HOSTILE_NAMES, env, cwd);
      const seen = await printed(host, HOSTILE_NAMES, env, cwd);
      expect(seen).toBe(expected);
      // What it is (locally, by construction: no shell between the caller and the command).
      expect(seen).toContain("\nc=/etc\nd=");
      expect(seen).toContain("\nn=0\no=");
      expect(seen).toContain("\nHOME=(unset)\n");
      expect(seen.endsWith(`\nPATH=${path}\n${cwd}\n`)).toBe(true);
      // The caller's PATH is the one the command is looked up in.
      const found = await host.exec("qk-only-here", [], { env: { PATH: path, IFS: "x", n: "0" } });
      expect(found.stdout).toBe(`found ${join(bin, "qk-only-here")}\n`);
      expect(existsSync(marker)).toBe(false);
    });

    test.for(["c", "n", "IFS", "PATH", "ENV", "BASH_ENV"])(
      "with %s set, the command still runs where it is asked, and is stopped by its timeout",
      async (name, { host, dir }) => {
        const pidsFile = join(dir, "pids");
        const value = name === "PATH" ? "/usr/bin:/bin" : name === "n" ? "0" : "x";
        // A path: the wrapper does not look it up in PATH (which reset its IFS).
        const running = host.exec(
          "/bin/sh",
          ["-c", `echo $$ >> '${pidsFile}'; pwd; exec sleep 1000`],
          { env: { [name]: value, QK_AFTER: "after" }, cwd: dir, timeoutMs: 2000 },
        );
        await expect(running).rejects.toMatchObject({ code: "ERR_TIMEOUT", stdout: `${dir}\n` });
        await waitUntilGone(await readPids(pidsFile, 1, 5000));
      },
    );
  });
}
