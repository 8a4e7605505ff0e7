import { describe, expect, test } from "vitest";
import { checkPackageVersions } from "../../src/qemu/ensure-qemu.js";
import { privateAptOptions } from "../../src/qemu/private-apt.js";
import {
  currentQemuEntryNames,
  isReleaseVersion,
  missingLibraries,
  parseQemuVersion,
  QEMU_RELEASES,
  qemuEntryName,
  qemuEntryPaths,
  qemuRelease,
  sourcesListLine,
  upstreamVersion,
} from "../../src/qemu/qemu-release.js";

const ten = QEMU_RELEASES["10.0"]!;

describe("QEMU releases and their cache entries", () => {
  test("10.0 comes from bookworm-backports: four packages, the system keyring", () => {
    expect(qemuRelease("10.0")).toBe(ten);
    expect(ten.packages).toEqual([
      "qemu-system-x86",
      "qemu-system-common",
      "qemu-system-data",
      "seabios",
    ]);
    expect(sourcesListLine(ten)).toBe(
      "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main\n",
    );
  });

  test("an unknown release is ERR_INVALID_OPTION naming `release`, also for inherited names", () => {
    for (const release of ["9.2", "10", "toString", "__proto__"]) {
      let caught: unknown;
      try {
        qemuRelease(release);
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({ code: "ERR_INVALID_OPTION", option: "release" });
      expect(String(caught)).toContain("known: 10.0");
    }
  });

  test("the entry is named after the release and a hash of its recipe, which a change moves", () => {
    const name = qemuEntryName(ten);
    expect(name).toMatch(/^qemu-10\.0-[0-9a-f]{8}$/);
    expect(qemuEntryName({ ...ten })).toBe(name);
    expect(qemuEntryName({ ...ten, packages: [...ten.packages, "ipxe-qemu"] })).not.toBe(name);
    expect(qemuEntryName({ ...ten, suite: "trixie" })).not.toBe(name);
    expect(currentQemuEntryNames()).toEqual([name]);
  });

  test("paths are computed without touching the disk", () => {
    const paths = qemuEntryPaths("10.0", "/nowhere/cache");
    const directory = `/nowhere/cache/${qemuEntryName(ten)}`;
    expect(paths).toEqual({
      directory,
      root: `${directory}/root`,
      binDirectory: `${directory}/bin`,
      binary: `${directory}/bin/qemu-system-x86_64`,
      realBinary: `${directory}/root/usr/bin/qemu-system-x86_64`,
      firmwareDir: `${directory}/root/usr/share/qemu`,
      biosDir: `${directory}/root/usr/share/seabios`,
      manifest: `${directory}/qemu.json`,
    });
    expect(() => qemuEntryPaths("1.0", "/nowhere")).toThrow(/no QEMU release "1.0"/);
  });
});

describe("versions and checks", () => {
  test("the upstream version of a Debian version: epoch and revision dropped", () => {
    expect(upstreamVersion("1:10.0.2+ds-2+deb13u1~bpo12+1")).toBe("10.0.2");
    expect(upstreamVersion("1:7.2+dfsg-7+deb12u18+b3")).toBe("7.2");
    expect(upstreamVersion("10.1.0~rc1-1")).toBe("10.1.0");
    expect(upstreamVersion("1.16.3-2~bpo12+1")).toBe("1.16.3");
  });

  test("a release matches its own x.y.z only", () => {
    expect(isReleaseVersion("10.0.2", "10.0")).toBe(true);
    expect(isReleaseVersion("10.0", "10.0")).toBe(true);
    expect(isReleaseVersion("10.0.12", "10.0")).toBe(true);
    expect(isReleaseVersion("10.1.0", "10.0")).toBe(false);
    expect(isReleaseVersion("10.00.1", "10.0")).toBe(false);
    expect(isReleaseVersion("110.0.1", "10.0")).toBe(false);
  });

  test("`--version` output is read", () => {
    const output =
      "QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)\nCopyright (c) 2003-2025 Fabrice Bellard\n";
    expect(parseQemuVersion(output)).toBe("10.0.2");
    expect(parseQemuVersion("qemu-img version 10.0.2\n")).toBeUndefined();
  });

  test("ldd's `not found` lines are the missing libraries", () => {
    const output = [
      "\tlinux-vdso.so.1 (0x00007ffd)",
      "\tlibpixman-1.so.0 => /lib/x86_64-linux-gnu/libpixman-1.so.0 (0x00007f)",
      "\tlibfdt.so.1 => not found",
      "\tlibslirp.so.0 => not found",
      "\t/lib64/ld-linux-x86-64.so.2 (0x00007f)",
    ].join("\n");
    expect(missingLibraries(output)).toEqual(["libfdt.so.1", "libslirp.so.0"]);
    expect(missingLibraries("\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x1)\n")).toEqual([]);
  });

  test("packages: 10.0.x passes; another release is a clear error; siblings must match", () => {
    const v = "1:10.0.2+ds-2+deb13u1~bpo12+1";
    const packages = [
      { name: "qemu-system-x86", version: v },
      { name: "qemu-system-common", version: v },
      { name: "qemu-system-data", version: v },
      { name: "seabios", version: "1.16.3-2~bpo12+1" },
    ];
    expect(checkPackageVersions(ten, packages)).toBe(v);
    const moved = packages.map((p) =>
      p.name === "seabios" ? p : { ...p, version: "1:10.1.0+ds-1~bpo12+1" },
    );
    expect(() => checkPackageVersions(ten, moved)).toThrow(
      /bookworm-backports now has qemu-system-x86 1:10\.1\.0\+ds-1~bpo12\+1 \(QEMU 10\.1\.0\), not QEMU 10\.0\.x: update QEMU_RELEASES/,
    );
    const mixed = packages.map((p) =>
      p.name === "qemu-system-data" ? { ...p, version: "1:10.0.3+ds-1" } : p,
    );
    expect(() => checkPackageVersions(ten, mixed)).toThrow(
      /qemu-system-data 1:10\.0\.3\+ds-1 does not match qemu-system-x86/,
    );
    expect(() => checkPackageVersions(ten, packages.slice(1))).toThrow(
      /qemu-system-x86 was not downloaded/,
    );
  });
});

describe("the private apt configuration", () => {
  test("every list, cache, status and source path is inside its folder", () => {
    const options = privateAptOptions("/c/apt", false);
    const settings = new Map(
      options
        .filter((_, i) => i % 2 === 1)
        .map((setting) => setting.split("=", 2) as [string, string]),
    );
    expect(options.filter((_, i) => i % 2 === 0).every((flag) => flag === "-o")).toBe(true);
    expect(Object.fromEntries(settings)).toEqual({
      "Dir::Etc::SourceList": "/c/apt/sources.list",
      "Dir::Etc::SourceParts": "/c/apt/sources.list.d",
      "Dir::Etc::Preferences": "/c/apt/preferences",
      "Dir::Etc::PreferencesParts": "/c/apt/preferences.d",
      "Dir::State": "/c/apt/state",
      "Dir::State::status": "/c/apt/state/status",
      "Dir::Cache": "/c/apt/cache",
      "Acquire::Languages": "none",
    });
  });

  test("as root, apt keeps root instead of dropping to _apt", () => {
    expect(privateAptOptions("/c/apt", true).slice(-2)).toEqual(["-o", "APT::Sandbox::User=root"]);
  });
});
