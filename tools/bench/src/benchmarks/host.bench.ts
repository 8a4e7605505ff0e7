import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { connectSshHost, createLocalHost, type Host, type SshHost } from "@qemu-kvm/host";
import { type SshdFixture, startSshd } from "@qemu-kvm/testkit";
import { type Benchmark, type Trial, timeMs } from "../harness.js";

const run = promisify(execFile);

/** Calls per sample of the single round-trip cases: a sample is their mean. */
const CALLS = 10;
const PARALLEL = 100;

function meanOf(calls: number, call: () => Promise<unknown>): Trial["run"] {
  return async () => {
    let total = 0;
    for (let i = 0; i < calls; i++) total += await timeMs(call);
    return total / calls;
  };
}

/**
 * `exec('true')` round trips: locally (vs child_process.execFile), over the one
 * persistent ssh2 connection (vs the OpenSSH client started per command, which
 * pays TCP + key exchange + authentication each time), and 100 commands at once
 * over one connection (vs 100 one after the other, and vs 100 OpenSSH clients).
 * Plus a /proc read over SFTP vs `exec cat` (why file operations use SFTP).
 * Against a real sshd on loopback (testkit; bash skips ~/.bashrc, see startSshd).
 */
const benchmark: Benchmark = {
  name: "host",
  description:
    "exec round trips: local, persistent SSH, OpenSSH client per command; 100 in parallel",
  async setup() {
    const sshd: SshdFixture = await startSshd();
    const local: Host = createLocalHost();
    let ssh: SshHost | undefined;
    try {
      ssh = await connectSshHost({
        host: sshd.host,
        port: sshd.port,
        user: sshd.user,
        privateKey: sshd.privateKey,
        hostKey: { knownHostsFile: sshd.knownHostsPath },
        maxSessions: PARALLEL + 2,
      });
    } catch (error) {
      await sshd.close();
      throw error;
    }
    const remote = ssh;
    const openssh = () => run("ssh", [...sshd.sshArgs(), "true"]);
    const parallel = (call: () => Promise<unknown>) => () =>
      timeMs(() => Promise.all(Array.from({ length: PARALLEL }, call)));
    return {
      cases: [
        {
          name: "host.exec-true.local",
          unit: "ms",
          runs: 15,
          warmup: 1,
          subject: {
            name: "createLocalHost().exec('true')",
            run: meanOf(CALLS, () => local.exec("true")),
          },
          baseline: {
            name: "child_process.execFile('true')",
            run: meanOf(CALLS, () => run("true")),
          },
        },
        {
          name: "host.exec-true.ssh",
          unit: "ms",
          runs: 15,
          warmup: 1,
          subject: {
            name: "connectSshHost().exec('true')",
            run: meanOf(CALLS, () => remote.exec("true")),
          },
          baseline: { name: "ssh -i key -p PORT host true", run: meanOf(3, openssh) },
        },
        {
          name: "host.exec-100-parallel.ssh",
          unit: "ms",
          runs: 7,
          warmup: 1,
          subject: {
            name: "100 × exec('true') at once, one connection",
            run: parallel(() => remote.exec("true")),
          },
          baseline: {
            name: "100 × exec('true') one after the other",
            run: () =>
              timeMs(async () => {
                for (let i = 0; i < PARALLEL; i++) await remote.exec("true");
              }),
          },
        },
        {
          name: "host.exec-100-parallel.vs-openssh",
          unit: "ms",
          runs: 3,
          subject: {
            name: "100 × exec('true') at once, one connection",
            run: parallel(() => remote.exec("true")),
          },
          baseline: { name: "100 OpenSSH clients at once", run: parallel(openssh) },
        },
        {
          name: "host.read-proc.ssh",
          unit: "ms",
          runs: 15,
          warmup: 1,
          subject: {
            name: "readFile('/proc/loadavg') over SFTP",
            run: meanOf(CALLS, () => remote.readFile("/proc/loadavg")),
          },
          baseline: {
            name: "exec('cat', ['/proc/loadavg'])",
            run: meanOf(CALLS, () => remote.exec("cat", ["/proc/loadavg"])),
          },
        },
      ],
      async teardown() {
        await Promise.allSettled([local.close(), remote.close()]);
        await sshd.close();
      },
    };
  },
};

export default benchmark;
