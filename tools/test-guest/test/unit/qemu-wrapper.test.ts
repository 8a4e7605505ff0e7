import { execFile } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, test } from "vitest";
import { parseDataDirs, shellQuote, wrapperScript } from "../../src/qemu/qemu-wrapper.js";

const run = promisify(execFile);
const cleanup: string[] = [];
afterEach(async () => {
  for (const dir of cleanup.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe("the QEMU wrapper", () => {
  test("the script: bash, exec -a with the plain name, -L folders in order, the module folder", () => {
    expect(
      wrapperScript({
        realBinary: "/c/root/usr/bin/qemu-system-x86_64",
        dataDirs: ["/c/root/usr/share/qemu", "/c/root/usr/share/seabios"],
        moduleDir: "/c/root/usr/lib/x86_64-linux-gnu/qemu",
        description: "10.0.2 (Debian 1:10.0.2) from bookworm-backports",
      }),
    ).toBe(
      [
        "#!/bin/bash",
        "# QEMU 10.0.2 (Debian 1:10.0.2) from bookworm-backports,",
        "# unpacked by @qemu-kvm/test-guest (ensureQemu): its own firmware and modules; exec keeps the pid.",
        "export QEMU_MODULE_DIR='/c/root/usr/lib/x86_64-linux-gnu/qemu'",
        "exec -a qemu-system-x86_64 '/c/root/usr/bin/qemu-system-x86_64' -L '/c/root/usr/share/qemu' -L '/c/root/usr/share/seabios' \"$@\"",
        "",
      ].join("\n"),
    );
  });

  test("hostile paths and arguments reach the binary unchanged, in the same process", async () => {
    // A folder name with a quote, spaces, `$()`, a backtick and a newline.
    const dir = await mkdtemp(join(tmpdir(), "qk-wrap it's $(x) `y`\n-"));
    cleanup.push(dir);
    const real = join(dir, "real binary");
    // Prints its pid, its argv[0], QEMU_MODULE_DIR, then each argument on its own line, NUL-ended.
    await writeFile(real, '#!/bin/bash\nprintf "%s\\0" "$$" "$0" "$QEMU_MODULE_DIR" "$@"\n', {
      mode: 0o755,
    });
    const wrapper = join(dir, "qemu-system-x86_64");
    await writeFile(
      wrapper,
      wrapperScript({
        realBinary: real,
        dataDirs: [join(dir, "share 'q'"), join(dir, "bios")],
        moduleDir: join(dir, "mods $HOME"),
        description: "test\nwith a newline",
      }),
    );
    await chmod(wrapper, 0o755);
    const args = ["-name", "a b", "it's", "$(touch /tmp/nope)", "`x`", "", "line\nbreak"];
    const { stdout } = await run("bash", [
      "-c",
      'echo -n "$$ "; exec "$@"',
      "sh",
      wrapper,
      ...args,
    ]);
    const shellPid = stdout.slice(0, stdout.indexOf(" "));
    const [pid, argv0, moduleDir, ...rest] = stdout.slice(shellPid.length + 1).split("\0");
    expect(pid).toBe(shellPid); // exec all the way: the caller's pid is QEMU's
    expect(argv0).toBe(real); // bash's $0 is the file; the kernel's argv[0] is checked in the integration test
    expect(moduleDir).toBe(join(dir, "mods $HOME"));
    expect(rest).toEqual(["-L", join(dir, "share 'q'"), "-L", join(dir, "bios"), ...args, ""]);
  });

  test("shellQuote leaves nothing for the shell to expand", async () => {
    for (const text of ["plain", "it's", "$(id)", "`id`", "a\nb", "\\", '"', "*", ""]) {
      const { stdout } = await run("bash", ["-c", `printf %s ${shellQuote(text)}`]);
      expect(stdout).toBe(text);
    }
  });

  test("`-L help` output gives the folders in order", () => {
    expect(parseDataDirs("/c/root/usr/share/qemu\n/c/bios\n/usr/share/qemu\n")).toEqual([
      "/c/root/usr/share/qemu",
      "/c/bios",
      "/usr/share/qemu",
    ]);
  });
});
