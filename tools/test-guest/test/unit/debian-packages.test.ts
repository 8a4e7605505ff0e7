import { describe, expect, test } from "vitest";
import {
  kernelImageDependency,
  parseDebFileName,
  parseDepends,
} from "../../src/debian-packages.js";

describe("Debian package helpers", () => {
  test("resolves linux-image-amd64 from `apt-cache depends` output", () => {
    const output = "linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n";
    expect(kernelImageDependency("linux-image-amd64", output)).toBe("linux-image-6.1.0-56-amd64");
  });

  test("reads Depends of the first package only, alternatives included", () => {
    const output = [
      "qemu-guest-agent",
      "  PreDepends: init-system-helpers",
      "  Depends: libc6",
      " |Depends: libglib2.0-0",
      "  Depends: <virtual-thing>",
      "  Suggests: foo",
      "other-package",
      "  Depends: not-this",
    ].join("\n");
    expect(parseDepends(output)).toEqual(["libc6", "libglib2.0-0", "<virtual-thing>"]);
  });

  test("a metapackage without a kernel image is an error naming it", () => {
    expect(() =>
      kernelImageDependency("linux-image-amd64", "linux-image-amd64\n  Depends: foo\n"),
    ).toThrow(/linux-image-amd64 depends on no linux-image/);
  });

  test("parses apt-get download file names (epoch URL-encoded)", () => {
    expect(parseDebFileName("busybox-static_1%3a1.35.0-4+deb12u1+b1_amd64.deb")).toEqual({
      name: "busybox-static",
      version: "1:1.35.0-4+deb12u1+b1",
      architecture: "amd64",
    });
    expect(parseDebFileName("libglib2.0-0_2.74.6-2+deb12u9_amd64.deb")?.name).toBe("libglib2.0-0");
    expect(parseDebFileName("README")).toBeUndefined();
  });
});
