/**
 * A path in a spec is a file path: no value of a path field reaches a parser that
 * would read it as something else (a block protocol, JSON options, a second
 * option). QEMU reads `-drive file=` with its protocol parser (`nbd:`, `ssh://`,
 * `json:{…}`); `file.filename=` names a file whatever it holds.
 */
import { buildArgs, parseArgs, readDtsConfig, splitOptionList } from "@qemu-kvm/bootline";
import { describe, expect, test } from "vitest";
import { optionValues, spec } from "../helpers/spec.js";

/** Values QEMU 7.2's `file=` reads as a protocol or as options, each also a valid file name. */
const protocolLike = [
  'json:{"driver":"nbd","server":{"type":"inet","host":"192.0.2.1","port":"10809"}}',
  "nbd:192.0.2.1:10809",
  "nbd+unix:///export?socket=/run/nbd.sock",
  "ssh://user@192.0.2.1/images/disk.img",
  "http://192.0.2.1/disk.img",
  "fat:rw:/etc",
  "vm:1.img",
  "/img/../json:{}",
];

/** The drives' option lists, split as QEMU splits them. */
function driveOptions(args: readonly string[]) {
  return optionValues(args, "-drive").map((value) => splitOptionList(value));
}

describe("drive and pflash paths are files, never protocols", () => {
  test.each(protocolLike)("drive path %j is written as file.filename=, never file=", (path) => {
    const args = buildArgs(spec({ drives: [{ path, format: "raw" }], pflash: [{ path }] }));
    for (const parts of driveOptions(args)) {
      expect(parts.map((part) => part.key)).not.toContain("file");
      expect(parts.filter((part) => part.key === "file.filename")).toEqual([
        { key: "file.filename", value: path },
      ]);
    }
    // Read back, the images are the same paths.
    expect(parseArgs(args).drives.map((drive) => drive.path)).toEqual([path, path]);
  });

  test("every drive form is written with file.filename", () => {
    const args = buildArgs(
      spec({
        drives: [
          { path: "/img/a.qcow2", format: "qcow2", interface: "virtio", index: 0, cache: "none" },
          { path: "/img/b.iso", media: "cdrom", interface: "ide", readOnly: true },
          { path: "/img/c.img", snapshot: true, interface: "none" },
        ],
        pflash: [{ path: "/fw/code.fd", readOnly: true }, { path: "/fw/vars.fd" }],
      }),
    );
    expect(optionValues(args, "-drive")).toEqual([
      "file.filename=/img/a.qcow2,format=qcow2,if=virtio,index=0,cache=none,id=drive0",
      "file.filename=/img/b.iso,if=ide,media=cdrom,readonly=on,id=drive1",
      "file.filename=/img/c.img,if=none,snapshot=on,id=drive2",
      "if=pflash,unit=0,format=raw,file.filename=/fw/code.fd,readonly=on,id=pflash0",
      "if=pflash,unit=1,format=raw,file.filename=/fw/vars.fd,id=pflash1",
    ]);
  });

  test("a DTS disk = file=… and pflash = file=… are files too", () => {
    const vm = readDtsConfig(
      "[vm0]\ndisk = file=nbd:192.0.2.1:10809;\npflash = file=ssh://192.0.2.1/fd;\n",
      undefined,
      { runtimeDir: "/run/qk/vm0" },
    ).get("vm0")!;
    const args = buildArgs({ ...vm.spec, serial: undefined, display: undefined, nets: [] });
    expect(optionValues(args, "-drive")).toEqual([
      "file.filename=nbd:192.0.2.1:10809,id=drive0",
      "if=pflash,unit=0,format=raw,file.filename=ssh://192.0.2.1/fd,id=pflash0",
    ]);
  });

  test("-kernel and -initrd are plain file names to QEMU: passed as they are", () => {
    const args = buildArgs(spec({ kernel: { path: "json:{}", initrdPath: "nbd:h:1" } }));
    expect(optionValues(args, "-kernel")).toEqual(["json:{}"]);
    expect(optionValues(args, "-initrd")).toEqual(["nbd:h:1"]);
  });
});
