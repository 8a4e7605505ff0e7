import { buildArgs, parseArgs, type VmSpec } from "@qemu-kvm/bootline";
import type { Benchmark, Trial } from "../harness.js";

/** A DTS-like VM: the reference's defaults plus QMP, a serial log, two NICs, hugepages, passthrough. */
const spec: VmSpec = {
  name: "vm0",
  runtimeDir: "/run/qemu-kvm/vm0",
  accelerator: "kvm",
  daemonize: true,
  pidfile: {},
  cpu: { model: "host", count: 4, hostCpus: [3, 4, 5, 6] },
  memory: { sizeMiB: 2048, backend: { type: "file", path: "/dev/hugepages" } },
  drives: [{ path: "/home/image/fedora23-ok.img", format: "qcow2", interface: "virtio" }],
  nets: [
    { type: "user", model: "e1000", hostForwards: [{ hostPort: 6001, guestPort: 22 }] },
    { type: "vhost-user", socketPath: "/run/dpdk/vhost-net0", queues: 2 },
  ],
  passthrough: [{ host: "0000:81:00.1", pciAddress: "10" }],
  qmp: {},
  monitor: {},
  serial: { type: "telnet", port: 7001, log: {} },
  guestAgent: {},
  display: { type: "vnc", display: 1 },
};

/**
 * The reference's way (qemu_kvm.py `add_vm_*` + `__add_boot_line`): append formatted
 * strings to one line, no validation, no escaping; split on spaces as a shell would.
 */
function concatenated(vm: typeof spec): string[] {
  let line = "";
  const add = (text: string) => {
    line += ` ${text}`;
  };
  add(`-name ${vm.name}`);
  add("-enable-kvm");
  add(`-pidfile ${vm.runtimeDir}/qemu.pid`);
  add("-daemonize");
  add(`-monitor unix:${vm.runtimeDir}/monitor.sock,server,nowait`);
  add(`-qmp unix:${vm.runtimeDir}/qmp.sock,server,nowait`);
  add(`-cpu ${vm.cpu?.model}`);
  add(`-smp ${vm.cpu?.count}`);
  const size = vm.memory?.sizeMiB;
  add(`-m ${size}`);
  add(`-object memory-backend-file,id=mem,size=${size}M,mem-path=/dev/hugepages,share=on`);
  add("-numa node,memdev=mem -mem-prealloc");
  add(`-drive file=${vm.drives?.[0]?.path},format=qcow2,if=virtio`);
  add("-device e1000,netdev=nttsip1");
  add("-netdev user,id=nttsip1,hostfwd=tcp:127.0.0.1:6001-:22");
  add("-chardev socket,id=char0,path=/run/dpdk/vhost-net0");
  add("-netdev type=vhost-user,id=netdev0,chardev=char0,vhostforce,queues=2");
  add("-device virtio-net-pci,netdev=netdev0");
  add("-device vfio-pci,host=0000:81:00.1,id=pt_0,addr=0x10");
  add(`-serial telnet::7001,server,nowait`);
  add(`-chardev socket,path=${vm.runtimeDir}/qga.sock,server,nowait,id=vm0_qga0`);
  add("-device virtio-serial");
  add("-device virtserialport,chardev=vm0_qga0,name=org.qemu.guest_agent.0");
  add("-vnc :1");
  return line.trim().split(" ");
}

/**
 * The reference's attach (`_attach_vm`): regular expressions over the NUL-joined
 * /proc cmdline for serial, monitor, host forward and incoming port.
 */
function regexAttach(cmdline: string): Record<string, string | undefined> {
  return {
    serial:
      /serial\x00unix:(.*?),/.exec(cmdline)?.[1] ?? /serial\x00telnet::(\d+),/.exec(cmdline)?.[1],
    monitor: /monitor\x00unix:(.*?),/.exec(cmdline)?.[1],
    hostfwd: /hostfwd=tcp:(.*):(\d+)-:/.exec(cmdline)?.[2],
    incoming: /incoming\x00tcp::(\d+)/.exec(cmdline)?.[1],
    name: /name\x00(\S+?)\x00/.exec(cmdline)?.[1],
    pidfile: /pidfile\x00(\S+?)\x00/.exec(cmdline)?.[1],
  };
}

const ITERATIONS = 20_000;

/** Runs `work` ITERATIONS times and returns operations per second. */
function throughput(name: string, work: () => unknown): Trial {
  return {
    name,
    async run() {
      let sink = 0;
      const start = process.hrtime.bigint();
      for (let index = 0; index < ITERATIONS; index++) {
        const result = work();
        if (result) sink++;
      }
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (sink !== ITERATIONS) throw new Error("a trial produced nothing");
      return ITERATIONS / seconds;
    },
  };
}

const builtArgv = buildArgs(spec);
const referenceCmdline = ["qemu-system-x86_64", ...concatenated(spec)].join("\0");

/**
 * Specs built per second (validation, defaults, ids, escaping) against the
 * reference's unchecked string concatenation of the same options, and argv parsed
 * back into attach facts per second against the reference's regex attach.
 */
const benchmark: Benchmark = {
  name: "bootline",
  description:
    "bootline: spec → argv, and argv → attach facts, against the reference's string handling",
  async setup() {
    return {
      cases: [
        {
          name: "bootline.build",
          unit: "ops/s",
          runs: 9,
          warmup: 2,
          subject: throughput("buildArgs(spec): validated, escaped argv", () => buildArgs(spec)),
          baseline: throughput("string concatenation as qemu_kvm.py did (no checks)", () =>
            concatenated(spec),
          ),
        },
        {
          name: "bootline.round-trip",
          unit: "ops/s",
          runs: 9,
          warmup: 2,
          subject: throughput("parseArgs(buildArgs(spec)): build + full parse", () =>
            parseArgs(buildArgs(spec)),
          ),
          baseline: throughput("regexes over /proc cmdline as _attach_vm did (parse only)", () =>
            regexAttach(referenceCmdline),
          ),
        },
        {
          name: "bootline.parse",
          unit: "ops/s",
          runs: 9,
          warmup: 2,
          subject: throughput("parseArgs(argv): every attach fact", () => parseArgs(builtArgv)),
          baseline: throughput("regexes over /proc cmdline as _attach_vm did", () =>
            regexAttach(referenceCmdline),
          ),
        },
      ],
      teardown: async () => {},
    };
  },
};

export default benchmark;
