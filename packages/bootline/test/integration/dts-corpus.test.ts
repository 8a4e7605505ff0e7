/**
 * Every KVM VM section of the DTS corpus that maps onto a spec, started in real QEMU
 * (TCG, paused). What this machine cannot provide is substituted, each for a stated
 * reason; everything else is the argv the builder makes from the config.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  assignPorts,
  buildArgs,
  type DtsVm,
  dtsSections,
  type NetSpec,
  readDtsConfig,
  specFacts,
  unassignedPorts,
  type VmSpec,
} from "@qemu-kvm/bootline";
import { freePort } from "@qemu-kvm/testkit";
import { describe, expect } from "vitest";
import { corpusFiles, globals, readCorpus } from "../helpers/dts.js";
import { test } from "../helpers/fixtures.js";
import { freeDisplay, listeningSockets, Qmp, run } from "../helpers/qemu.js";

/**
 * The substitutions, each with its reason. Nothing else of the spec changes.
 */
async function forThisMachine(
  vm: DtsVm,
  dir: string,
  memoryDir: string,
): Promise<{ spec: VmSpec; changes: string[] }> {
  const changes: string[] = [];
  let spec: VmSpec = vm.spec;
  // Images: the configs name images of their lab; stand-in files of the declared format.
  const drives = [];
  for (const [index, drive] of (spec.drives ?? []).entries()) {
    const path = join(dir, `image ${index}, stand-in.${drive.format ?? "raw"}`);
    if (drive.format === "qcow2")
      await run("qemu-img", ["create", "-q", "-f", "qcow2", path, "64M"]);
    else await writeFile(path, Buffer.alloc(1024 * 1024));
    drives.push({ ...drive, path });
  }
  if (drives.length) {
    spec = { ...spec, drives };
    changes.push("images: stand-in files of the declared format (the lab's images are not here)");
  }
  if (spec.accelerator === "kvm") {
    spec = { ...spec, accelerator: "tcg" };
    changes.push("accelerator kvm → tcg (KVM guests hang on these machines)");
  }
  if (spec.cpu?.model === "host") {
    spec = { ...spec, cpu: { ...spec.cpu, model: "max" } };
    changes.push("cpu model host → max (host needs KVM)");
  }
  if (spec.daemonize) {
    spec = { ...spec, daemonize: false };
    changes.push(
      "no -daemonize (the test fixture must own the process; tested on its own elsewhere)",
    );
  }
  if (spec.memory?.backend?.type === "file") {
    spec = {
      ...spec,
      memory: {
        ...spec.memory,
        backend: { ...spec.memory.backend, path: memoryDir, prealloc: false },
      },
    };
    changes.push(
      "hugepages → a tmpfs directory, no prealloc (no hugepages reserved; GiBs of RAM on a shared machine)",
    );
  }
  if (spec.nets?.some((net) => net.type === "bridge")) {
    spec = {
      ...spec,
      nets: spec.nets.map((net): NetSpec => {
        if (net.type !== "bridge") return net;
        const { bridge: _bridge, helper: _helper, type: _type, ...nic } = net;
        return { ...nic, type: "user" };
      }),
    };
    changes.push(
      "bridge backend → user (needs a host bridge and QEMU's setuid helper); the NIC is unchanged",
    );
  }
  if (spec.crypto?.some((crypto) => crypto.backend === "vhost-user")) {
    spec = { ...spec, crypto: spec.crypto.map(() => ({ backend: "builtin" as const })) };
    changes.push(
      "crypto vhost-user → built-in backend (nobody serves the socket; QEMU connects and waits at start); devices and ids unchanged",
    );
  }
  // Ports DTS allocated: free ones, as the pool leases them.
  const ports: Record<string, number> = {};
  for (const request of unassignedPorts(spec))
    ports[request.field] =
      request.kind === "display" ? 5900 + (await freeDisplay()) : await freePort();
  if (
    spec.display?.type === "vnc" &&
    spec.display.socket !== "unix" &&
    spec.display.display !== "auto"
  ) {
    spec = { ...spec, display: { ...spec.display, display: await freeDisplay() } };
    changes.push("the config's fixed VNC display → a free one (others use this machine)");
  }
  if (spec.incoming && spec.incoming.type !== "unix" && spec.incoming.port !== "auto") {
    spec = { ...spec, incoming: { ...spec.incoming, port: await freePort() } };
    changes.push("the config's fixed migration port → a free one (others use this machine)");
  }
  return { spec: assignPorts(spec, ports), changes };
}

interface Case {
  file: string;
  section: string;
  text: string;
}
const cases: Case[] = [];
const rejected: string[] = [];
for (const file of corpusFiles()) {
  const text = readCorpus(file);
  for (const section of dtsSections(text)) {
    if (section.kind === "other") continue;
    try {
      readDtsConfig(text, globals, { sections: [section.name], hugepagePath: "/dev/hugepages" });
      cases.push({ file, section: section.name, text });
    } catch (error) {
      rejected.push(`${file} [${section.name}]: ${(error as Error).message}`);
    }
  }
}

describe("the DTS corpus in real QEMU", () => {
  test("45 sections become specs, 8 are rejected (scene, libvirt, Xen, defaults, one undocumented key)", () => {
    expect(cases).toHaveLength(45);
    expect(rejected).toHaveLength(8);
  });

  test.for(cases.map((entry) => [`${entry.file} [${entry.section}]`, entry] as const))(
    "%s: QEMU accepts its argv and has its NICs and devices",
    async ([_name, { file, section, text }], { tempDir, memoryDir, launchQemu }) => {
      const dir = join(tempDir.path, `${file}-${section}`);
      await mkdir(dir, { mode: 0o700 });
      const vm = readDtsConfig(text, globals, {
        file,
        sections: [section],
        hugepagePath: "/dev/hugepages",
        runtimeDir: dir,
      }).get(section)!;
      const { spec } = await forThisMachine(vm, dir, memoryDir);
      const qemu = await launchQemu({ args: buildArgs(spec), timeoutMs: 60_000 });
      const qmp = await Qmp.connect(qemu.qmpPath);
      try {
        const buses = await qmp.execute<{ devices: { qdev_id: string }[] }[]>("query-pci");
        const ids = buses.flatMap((bus) => bus.devices.map((device) => device.qdev_id));
        for (const [index] of (spec.nets ?? []).entries()) expect(ids).toContain(`nic${index}`);
        for (const [index] of (spec.crypto ?? []).entries())
          expect(ids).toContain(`crypto${index}`);
        if (spec.guestAgent) expect(ids).toContain("virtio-serial0");
        const blocks = await qmp.execute<{ device: string }[]>("query-block");
        for (const [index] of (spec.drives ?? []).entries())
          expect(blocks.map((block) => block.device)).toContain(`drive${index}`);
        const sockets = await listeningSockets(qemu.pid);
        expect(
          sockets.every((socket) => socket.host === "127.0.0.1"),
          JSON.stringify(sockets),
        ).toBe(true);
        expect(sockets.map((socket) => socket.port).sort()).toEqual(
          specFacts(spec)
            .listeners.map((listener) => listener.port)
            .sort(),
        );
      } finally {
        qmp.close();
      }
    },
  );
});
