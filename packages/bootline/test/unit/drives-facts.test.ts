/**
 * `facts.drives`, `facts.kernel`, `facts.initrd`: the images a VM opens, from its spec
 * and from any QEMU command line, so that "is this image used by a running VM?" is
 * answered by reading each QEMU's /proc/PID/cmdline.
 */
import { buildArgs, parseArgs, specFacts, type VmSpec } from "@qemu-kvm/bootline";
import { describe, expect, test } from "vitest";
import { spec } from "../helpers/spec.js";

describe("drives from a spec", () => {
  const input: VmSpec = spec({
    drives: [
      { path: "/img/a,b disk.qcow2", format: "qcow2", interface: "virtio", cache: "none" },
      { path: "/img/base.raw", readOnly: true, snapshot: true, index: 1 },
      { path: "/iso/install.iso", media: "cdrom", interface: "ide" },
    ],
    pflash: [{ path: "/fw/CODE,1.fd", readOnly: true }, { path: "/run/qk/vm0/VARS.fd" }],
    kernel: { path: "/boot/vmlinux", initrdPath: "/boot/initrd img", append: "quiet" },
  });

  test("every drive and pflash image, in argv order, with format, interface, media and modes", () => {
    expect(specFacts(input).drives).toEqual([
      {
        id: "drive0",
        path: "/img/a,b disk.qcow2",
        format: "qcow2",
        interface: "virtio",
        readOnly: false,
        snapshot: false,
      },
      { id: "drive1", path: "/img/base.raw", readOnly: true, snapshot: true },
      {
        id: "drive2",
        path: "/iso/install.iso",
        interface: "ide",
        media: "cdrom",
        readOnly: true, // QEMU opens a CD-ROM read-only
        snapshot: false,
      },
      {
        id: "pflash0",
        path: "/fw/CODE,1.fd",
        format: "raw",
        interface: "pflash",
        readOnly: true,
        snapshot: false,
      },
      {
        id: "pflash1",
        path: "/run/qk/vm0/VARS.fd",
        format: "raw",
        interface: "pflash",
        readOnly: false,
        snapshot: false,
      },
    ]);
  });

  test("the kernel and initrd paths; none without a kernel", () => {
    const facts = specFacts(input);
    expect(facts.kernel).toBe("/boot/vmlinux");
    expect(facts.initrd).toBe("/boot/initrd img");
    const bare = specFacts(spec());
    expect(bare.drives).toEqual([]);
    expect(bare.kernel).toBeUndefined();
    expect(bare.initrd).toBeUndefined();
    expect(specFacts(spec({ kernel: { path: "/k" } })).initrd).toBeUndefined();
  });

  test("parseArgs(buildArgs(spec)) gives the same drives, kernel and initrd", () => {
    expect(parseArgs(buildArgs(input))).toEqual(specFacts(input));
  });
});

describe("drives from other tools' command lines", () => {
  test("-drive as DTS wrote it: the file, whatever else it says", () => {
    expect(parseArgs(["-drive", "file=/home/image/fedora23-ok.img"]).drives).toEqual([
      { path: "/home/image/fedora23-ok.img", readOnly: false, snapshot: false },
    ]);
  });

  test("-drive options: escaped commas, readonly as a flag, media=cdrom, an empty drive left out", () => {
    const { drives } = parseArgs([
      "qemu-system-x86_64",
      "-drive",
      "if=virtio,file=/img/a,,b.qcow2,format=qcow2,readonly,id=disk0",
      "-drive",
      "if=none,id=cd0,media=cdrom",
      "-drive",
      "file=/iso/x.iso,media=cdrom,readonly=off",
    ]);
    expect(drives).toEqual([
      {
        id: "disk0",
        path: "/img/a,b.qcow2",
        format: "qcow2",
        interface: "virtio",
        readOnly: true,
        snapshot: false,
      },
      { path: "/iso/x.iso", media: "cdrom", readOnly: true, snapshot: false },
    ]);
  });

  test("-hda…-hdd, -cdrom, -fda, -sd, -mtdblock, -pflash and a bare image: the file as it is", () => {
    const { drives } = parseArgs([
      "qemu-system-x86_64",
      "/img/bare,1.img",
      "-hda",
      "/img/a,b.img",
      "-hdd",
      "/img/d.img",
      "-cdrom",
      "/iso/c.iso",
      "-fda",
      "/img/floppy.img",
      "-sd",
      "/img/sd.img",
      "-mtdblock",
      "/img/mtd.img",
      "-pflash",
      "/fw/code.fd",
      "-m",
      "512",
    ]);
    expect(drives).toEqual([
      { path: "/img/bare,1.img", readOnly: false, snapshot: false },
      { path: "/img/a,b.img", readOnly: false, snapshot: false },
      { path: "/img/d.img", readOnly: false, snapshot: false },
      { path: "/iso/c.iso", media: "cdrom", readOnly: true, snapshot: false },
      { path: "/img/floppy.img", interface: "floppy", readOnly: false, snapshot: false },
      { path: "/img/sd.img", interface: "sd", readOnly: false, snapshot: false },
      { path: "/img/mtd.img", interface: "mtd", readOnly: false, snapshot: false },
      { path: "/fw/code.fd", interface: "pflash", readOnly: false, snapshot: false },
    ]);
  });

  test("-snapshot puts every -drive in snapshot mode unless it says snapshot=off", () => {
    const { drives } = parseArgs([
      "-drive",
      "file=/img/a.img",
      "-hda",
      "/img/b.img",
      "-drive",
      "file=/img/c.img,snapshot=off",
      "-snapshot",
    ]);
    expect(drives.map((drive) => drive.snapshot)).toEqual([true, true, false]);
  });

  test("-blockdev nodes that name a file (as libvirt writes them, JSON or key=value)", () => {
    const { drives } = parseArgs([
      "-blockdev",
      '{"driver":"file","filename":"/var/lib/libvirt/images/vm,1.qcow2","node-name":"libvirt-1-storage","read-only":false}',
      "-blockdev",
      '{"node-name":"libvirt-1-format","read-only":false,"driver":"qcow2","file":"libvirt-1-storage"}',
      "-blockdev",
      "driver=file,node-name=base,filename=/img/base,,raw.img,read-only=on",
      "-blockdev",
      "driver=raw,node-name=nvram,file.driver=file,file.filename=/fw/VARS.fd",
    ]);
    expect(drives).toEqual([
      {
        id: "libvirt-1-storage",
        path: "/var/lib/libvirt/images/vm,1.qcow2",
        readOnly: false,
        snapshot: false,
      },
      { id: "base", path: "/img/base,raw.img", readOnly: true, snapshot: false },
      { id: "nvram", path: "/fw/VARS.fd", readOnly: false, snapshot: false },
    ]);
  });

  test("-kernel and -initrd as they are; the options after them are still read", () => {
    const facts = parseArgs([
      "qemu-system-x86_64",
      "-kernel",
      "/boot/vmlinuz,1",
      "-initrd",
      "/boot/initrd img",
      "-append",
      "console=ttyS0 root=/dev/vda",
      "-drive",
      "file=/img/root.img",
    ]);
    expect(facts.kernel).toBe("/boot/vmlinuz,1");
    expect(facts.initrd).toBe("/boot/initrd img");
    expect(facts.drives).toEqual([{ path: "/img/root.img", readOnly: false, snapshot: false }]);
  });

  test("a VM using an image is found among several command lines", () => {
    const running = [
      ["qemu-system-x86_64", "-name", "a", "-drive", "file=/img/one.qcow2,if=virtio"],
      ["taskset", "-c", "2", "qemu-system-x86_64", "-name", "b", "-hda", "/img/two.img"],
      ["qemu-system-x86_64", "-name", "c", "-drive", "file=/img/three.img,snapshot=on"],
    ];
    const users = (image: string) =>
      running
        .map((argv) => parseArgs(argv))
        .filter((facts) => facts.drives.some((drive) => drive.path === image && !drive.snapshot))
        .map((facts) => facts.name);
    expect(users("/img/two.img")).toEqual(["b"]);
    expect(users("/img/three.img")).toEqual([]); // opened, but never written
    expect(users("/img/four.img")).toEqual([]);
  });
});
