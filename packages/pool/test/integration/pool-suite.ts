/**
 * The rules of the pool, checked through a real host: run unchanged against
 * `createLocalHost()` and against `connectSshHost()` connected to a real OpenSSH server on
 * loopback. Either way the host is this machine, so the test binds sockets,
 * reads the state file and starts processes on the host directly.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { PORT_KINDS, parseCpuList } from "@qemu-kvm/core";
import { waitUntilGone } from "@qemu-kvm/testkit";
import { describe, expect } from "vitest";
import type { PoolOptions, ResourcePool } from "../../src/index.js";
import type { PoolKit, TargetTest } from "../helpers/fixtures.js";
import { freePortBlock } from "../helpers/ports.js";
import { readStateLines } from "../helpers/state-file.js";

const PF = "0000:81:00.0";
const VF0 = "0000:81:02.0";
const VF1 = "0000:81:02.1";
const DESCRIBED = {
  cpus: { online: [0, 1, 2, 3, 4, 5, 6, 7], nodes: { 0: [0, 1, 2, 3], 1: [4, 5, 6, 7] } },
  pci: [{ address: PF, vfs: [VF0, VF1] }, { address: "0000:82:00.0" }],
};

/** A pool on the described topology (the host's own with `topology: undefined`). */
function open(pools: PoolKit, options: PoolOptions = {}): Promise<ResourcePool> {
  return pools.open({ topology: DESCRIBED, ...options });
}

/** The suite, on `test`'s target (`localTest` or `sshTest`), named `name`. */
export function poolSuite(test: TargetTest, name: "local" | "ssh"): void {
  describe(`pool over ${name}`, () => {
    describe("state on the host", () => {
      test("the directory is created 0700 and the state file 0600; no temporary file stays; a hostile path is only data", async ({
        pools,
        tempDir,
      }) => {
        // The injected commands would touch an absolute path: the anchor runs in /, not here.
        const pwned = join(tempDir.path, "pwned");
        pools.stateDir = join(tempDir.path, `it's a $(touch ${pwned}) \`touch ${pwned}\` ; dir`);
        const pool = await open(pools);
        await pool.leaseCpus("vm0", 1);
        expect(statSync(pools.stateDir).mode & 0o777).toBe(0o700);
        expect(statSync(join(pools.stateDir, "state.jsonl")).mode & 0o777).toBe(0o600);
        expect(statSync(join(pools.stateDir, "lock")).mode & 0o777).toBe(0o600);
        expect(readdirSync(pools.stateDir).sort()).toEqual(["lock", "state.jsonl"]);
        expect(existsSync(join(tempDir.path, "pwned"))).toBe(false);
        expect(existsSync("pwned")).toBe(false);
        expect(pool.statePath).toBe(join(pools.stateDir, "state.jsonl"));
        const lines = await readStateLines(pools.stateDir);
        expect(lines[0]).toMatchObject({ format: "qemu-kvm-pool", version: 1, generation: 1 });
        expect(lines.at(-1)).toEqual({ end: 2 });
      });
      test("fileMode 0o660 makes group-shared files", async ({ pools }) => {
        const pool = await open(pools, { fileMode: 0o660 });
        await pool.leaseCpus("vm0", 1);
        expect(statSync(join(pools.stateDir, "state.jsonl")).mode & 0o777).toBe(0o660);
      });
      test("a corrupt state file is never reset: ERR_POOL_STATE, and the file stays as it was", async ({
        pools,
      }) => {
        const pool = await open(pools);
        await pool.leaseCpus("vm0", 1);
        const path = join(pools.stateDir, "state.jsonl");
        const good = readFileSync(path, "utf8");
        const truncated = good.slice(0, good.lastIndexOf('{"end"'));
        for (const broken of [truncated, `${good}garbage\n`, "\0\0\0"]) {
          writeFileSync(path, broken);
          await expect(pool.leaseCpus("vm1", 1)).rejects.toMatchObject({
            code: "ERR_POOL_STATE",
            path,
          });
          await expect(pool.leases()).rejects.toMatchObject({ code: "ERR_POOL_STATE" });
          expect(readFileSync(path, "utf8")).toBe(broken);
        }
        rmSync(path);
        mkdirSync(path);
        await expect(pool.leaseCpus("vm1", 1)).rejects.toMatchObject({
          code: "ERR_POOL_STATE",
          reason: /cannot be read/,
        });
        rmSync(path, { recursive: true });
        writeFileSync(path, good.replace('"version":1', '"version":9'));
        await expect(pool.release("vm0")).rejects.toThrow(/newer version/);
        writeFileSync(path, good);
        expect((await pool.release("vm0")).length).toBe(1);
      });
    });

    describe("ports", () => {
      test("lowest free first in each kind's range, reused after release; display ports give the display number", async ({
        pools,
      }) => {
        const base = await freePortBlock(30);
        const pool = await open(pools, {
          ports: {
            forward: { from: base, to: base + 9 },
            serial: { from: base + 10, to: base + 19 },
            display: { from: 5900, to: 5999 },
          },
        });
        expect(pool.portRanges.forward).toEqual({ from: base, to: base + 9 });
        expect(pool.portRanges.migration).toEqual({ from: 8000, to: 8999 });
        expect((await pool.leasePort("vm0", "forward")).port).toBe(base);
        expect((await pool.leasePort("vm1", "forward")).port).toBe(base + 1);
        expect((await pool.leasePort("vm0", "serial")).port).toBe(base + 10);
        await pool.release("vm0");
        expect((await pool.leasePort("vm2", "forward")).port).toBe(base);
        expect((await pool.leasePort("vm2", "serial")).port).toBe(base + 10);
        const display = await pool.leasePort("vm2", "display");
        expect(display.display).toBe(display.port - 5900);
      });
      test("a port an unrelated process holds (TCP listener on IPv4 or IPv6, UDP socket, TCP connection) is never leased", async ({
        pools,
      }) => {
        const base = await freePortBlock(10);
        const server = await pools.listeners.tcp(base);
        await pools.listeners.tcp(base + 1, "::1");
        await pools.listeners.udp(base + 2);
        await pools.listeners.udp(base + 3, "udp6");
        await pools.listeners.connectedFrom(base + 4, server);
        const pool = await open(pools, { ports: { forward: { from: base, to: base + 6 } } });
        expect((await pool.leasePort("vm0", "forward")).port).toBe(base + 5);
        expect((await pool.leasePort("vm1", "forward")).port).toBe(base + 6);
        await expect(pool.leasePort("vm2", "forward")).rejects.toMatchObject({
          code: "ERR_POOL_EXHAUSTED",
          kind: "forward",
          range: { from: base, to: base + 6 },
        });
        const busy = await pool
          .leasePort("vm2", "forward", { port: base })
          .catch((error: unknown) => error);
        expect(busy).toMatchObject({
          code: "ERR_POOL_BUSY",
          owner: undefined,
          inUseOnHost: ["tcp"],
        });
        await expect(pool.leasePort("vm2", "forward", { port: base + 2 })).rejects.toMatchObject({
          inUseOnHost: ["udp"],
        });
        await expect(pool.leasePort("vm2", "forward", { port: base + 5 })).rejects.toMatchObject({
          code: "ERR_POOL_BUSY",
          owner: "vm0",
        });
        // Once the listener is gone, its port is leased again.
        await pools.listeners.closeAll();
        expect((await pool.leasePort("vm2", "forward")).port).toBe(base);
      });
      test("one port of every kind core names: the ports bootline asks for", async ({ pools }) => {
        const base = await freePortBlock(8);
        const pool = await open(pools, {
          ports: {
            forward: { from: base, to: base + 1 },
            serial: { from: base + 2, to: base + 3 },
            migration: { from: base + 4, to: base + 5 },
            display: { from: base + 6, to: base + 7 },
          },
        });
        const grant = await pool.lease("vm0", { ports: PORT_KINDS });
        expect(grant.ports.map((lease) => [lease.kind, lease.port])).toEqual([
          ["forward", base],
          ["serial", base + 2],
          ["migration", base + 4],
          ["display", base + 6],
        ]);
        expect(grant.ports[3]!.display).toBe(base + 6 - 5900);
        for (const kind of PORT_KINDS)
          expect((await pool.leasePort("vm1", kind)).port).toBe(pool.portRanges[kind]!.from + 1);
      });

      test("a port kind the pool does not know is a programmer error", async ({ pools }) => {
        const pool = await open(pools);
        expect(() => pool.leasePort("vm0", "ssh")).toThrow(
          expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "kind" }),
        );
        expect(() => pool.leasePort("bad name", "forward")).toThrow(
          expect.objectContaining({ field: "owner" }),
        );
      });
    });

    describe("CPUs", () => {
      test("the host's topology comes from sysfs; never one CPU to two VMs; unknown CPUs are errors", async ({
        pools,
      }) => {
        const pool = await open(pools, { topology: undefined });
        const online = parseCpuList(readFileSync("/sys/devices/system/cpu/online", "utf8"))!;
        expect(pool.topology.online).toEqual(online);
        expect(pool.topology.allowed).toEqual(online);
        expect([...pool.topology.nodes.values()].flat().sort((a, b) => a - b)).toEqual(online);
        const all = await pool.leaseCpus("vm0", online.length);
        expect(all.map((lease) => lease.cpu)).toEqual(online);
        await expect(pool.leaseCpus("vm1", 1)).rejects.toMatchObject({
          code: "ERR_POOL_EXHAUSTED",
          requested: 1,
          available: 0,
        });
        await expect(pool.leaseCpus("vm1", [online[0]!])).rejects.toMatchObject({
          code: "ERR_POOL_BUSY",
          owner: "vm0",
        });
        await expect(pool.leaseCpus("vm1", [4095])).rejects.toMatchObject({
          code: "ERR_POOL_UNKNOWN_RESOURCE",
        });
        await pool.release("vm0");
        expect(
          (await pool.leaseCpus("vm1", { cpus: [online[0]!], shared: true })).map(
            (lease) => lease.shared,
          ),
        ).toEqual([true]);
        expect((await pool.leaseCpus("vm2", { cpus: [online[0]!], shared: true })).length).toBe(1);
      });
      test("a described topology: counts per NUMA node, lists, sharing, the pool's own CPU set", async ({
        pools,
      }) => {
        const pool = await open(pools, { cpus: "1-7" });
        expect(
          (await pool.leaseCpus("vm0", { count: 2, node: 1 })).map((lease) => lease.cpu),
        ).toEqual([4, 5]);
        expect((await pool.leaseCpus("vm1", 3)).map((lease) => lease.cpu)).toEqual([1, 2, 3]);
        await expect(pool.leaseCpus("vm2", { count: 1, node: 0 })).rejects.toMatchObject({
          code: "ERR_POOL_EXHAUSTED",
          node: 0,
        });
        await expect(pool.leaseCpus("vm2", [0])).rejects.toThrow(
          /not among the CPUs this pool hands out/,
        );
        await expect(pool.leaseCpus("vm2", [4])).rejects.toMatchObject({
          code: "ERR_POOL_BUSY",
          owner: "vm0",
        });
        expect(
          (await pool.leaseCpus("vm2", { cpus: [6, 7], shared: true })).map((lease) => lease.cpu),
        ).toEqual([6, 7]);
        expect(
          (await pool.leaseCpus("vm3", { count: 2, shared: true })).map((lease) => lease.cpu),
        ).toEqual([6, 7]);
        await expect(pool.leaseCpus("vm4", [7])).rejects.toMatchObject({ code: "ERR_POOL_BUSY" });
      });
    });

    describe("PCI", () => {
      test("a described PF and its VFs: never a VF to two VMs, never a PF with one of its VFs, either way round", async ({
        pools,
      }) => {
        const pool = await open(pools);
        expect(await pool.leasePci("vm0", "81:02.0")).toMatchObject({
          address: VF0,
          function: "vf",
          pf: PF,
        });
        await expect(pool.leasePci("vm1", VF0)).rejects.toMatchObject({
          code: "ERR_POOL_BUSY",
          owner: "vm0",
        });
        await expect(pool.leasePci("vm1", PF)).rejects.toMatchObject({
          code: "ERR_POOL_CONFLICT",
          conflictsWith: VF0,
          owner: "vm0",
        });
        expect(await pool.leasePci("vm1", VF1)).toMatchObject({ owner: "vm1" });
        await pool.release("vm0");
        await pool.release("vm1");
        expect(await pool.leasePci("vm2", PF)).toMatchObject({ function: "pf" });
        await expect(pool.leasePci("vm3", VF1)).rejects.toMatchObject({
          code: "ERR_POOL_CONFLICT",
          conflictsWith: PF,
          owner: "vm2",
        });
        expect(await pool.leasePci("vm3", "0000:82:00.0")).toMatchObject({ function: "device" });
        await expect(pool.leasePci("vm3", "0000:99:00.0")).rejects.toMatchObject({
          code: "ERR_POOL_UNKNOWN_RESOURCE",
        });
      });
      test("the host's devices come from sysfs; an address with no device is unknown", async ({
        pools,
      }) => {
        const pool = await open(pools, { topology: undefined });
        const device = readdirSync("/sys/bus/pci/devices").sort()[0]!;
        const expected = existsSync(`/sys/bus/pci/devices/${device}/physfn`)
          ? "vf"
          : existsSync(`/sys/bus/pci/devices/${device}/sriov_totalvfs`)
            ? "pf"
            : "device";
        expect(await pool.leasePci("vm0", device)).toMatchObject({
          address: device,
          function: expected,
        });
        await expect(pool.leasePci("vm1", device)).rejects.toMatchObject({ code: "ERR_POOL_BUSY" });
        await expect(pool.leasePci("vm1", "0000:fe:1f.7")).rejects.toMatchObject({
          code: "ERR_POOL_UNKNOWN_RESOURCE",
          resource: { type: "pci", address: "0000:fe:1f.7" },
        });
      });
    });

    describe("owners, release and listing", () => {
      test("everything a VM holds is leased at once or not at all, and released in one call", async ({
        pools,
      }) => {
        const base = await freePortBlock(10);
        const pool = await open(pools, {
          ports: {
            forward: { from: base, to: base + 4 },
            serial: { from: base + 5, to: base + 9 },
          },
        });
        await pool.leasePci("other", VF0);
        await expect(
          pool.lease("vm0", { ports: ["forward", "serial"], cpus: 2, pci: [PF] }),
        ).rejects.toMatchObject({ code: "ERR_POOL_CONFLICT" });
        expect((await pool.leases()).owners.map((owner) => owner.owner)).toEqual(["other"]);
        const grant = await pool.lease("vm0", {
          ports: ["forward", { kind: "serial", port: base + 7 }],
          cpus: { count: 2, node: 1 },
          pci: [VF1],
        });
        expect(grant.ports.map((lease) => lease.port)).toEqual([base, base + 7]);
        expect(grant.cpus.map((lease) => lease.cpu)).toEqual([4, 5]);
        expect(grant.pci.map((lease) => lease.address)).toEqual([VF1]);
        const released = await pool.release("vm0");
        expect(released.map((lease) => lease.type).sort()).toEqual([
          "cpu",
          "cpu",
          "pci",
          "port",
          "port",
        ]);
        expect(await pool.release("vm0")).toEqual([]);
        expect((await pool.leases()).leases.map((lease) => lease.owner)).toEqual(["other"]);
      });
      test("every client sees every lease with its owner; an owner name belongs to the client that made it", async ({
        pools,
      }) => {
        const a = await open(pools);
        const b = await open(pools);
        await a.leaseCpus("vm-a", [1]);
        await b.leasePci("vm-b", VF0);
        for (const [pool, mine] of [
          [a, "vm-a"],
          [b, "vm-b"],
        ] as const) {
          const snapshot = await pool.leases();
          expect(snapshot.owners.map((owner) => [owner.owner, owner.alive, owner.mine])).toEqual([
            ["vm-a", true, mine === "vm-a"],
            ["vm-b", true, mine === "vm-b"],
          ]);
          expect(snapshot.leases.map((lease) => lease.owner)).toEqual(["vm-a", "vm-b"]);
        }
        const owner = (await a.leases()).owners[0]!;
        expect(owner.holder).toEqual(a.holder);
        expect(owner.client).toMatchObject({ id: a.clientId, pid: process.pid });
        await expect(b.leaseCpus("vm-a", [2])).rejects.toMatchObject({
          code: "ERR_POOL_BUSY",
          resource: { type: "owner", owner: "vm-a" },
        });
        await expect(b.release("vm-a")).rejects.toMatchObject({ code: "ERR_POOL_BUSY" });
        await expect(b.leaseCpus("vm-b2", [1])).rejects.toMatchObject({
          code: "ERR_POOL_BUSY",
          owner: "vm-a",
        });
      });
      test("many calls at once share transactions, and each gets its own answer", async ({
        pools,
      }) => {
        const base = await freePortBlock(40);
        const pool = await open(pools, { ports: { forward: { from: base, to: base + 39 } } });
        const before = (await pool.leases()).generation;
        const calls = Array.from({ length: 20 }, (_, index) =>
          pool.leasePort(`vm${index}`, "forward"),
        );
        calls.push(pool.leasePort("vm0", "forward", { port: base + 39 }));
        const duplicate = pool.leasePci("vm1", "0000:99:00.0");
        const results = await Promise.all(calls);
        await expect(duplicate).rejects.toMatchObject({ code: "ERR_POOL_UNKNOWN_RESOURCE" });
        expect(new Set(results.map((lease) => lease.port)).size).toBe(21);
        const after = (await pool.leases()).generation;
        expect(after - before).toBeLessThan(21);
        expect(after - before).toBeGreaterThanOrEqual(1);
      });
    });

    describe("ownership and reclamation", () => {
      test("leases of a client that is gone are reclaimed; a transferred owner lives as long as its process", async ({
        pools,
      }) => {
        const a = await open(pools);
        const b = await open(pools);
        await a.leasePci("vm-x", VF0);
        await a.leasePci("vm-y", VF1);
        const vm = await pools.sleeper();
        await a.transfer("vm-y", { pid: vm.pid, startTime: vm.startTime });
        const anchor = a.holder.pid;
        a.destroy();
        await waitUntilGone(anchor);
        const snapshot = await b.leases();
        expect(
          snapshot.owners.map((owner) => [owner.owner, owner.alive, owner.holder.kind]),
        ).toEqual([
          ["vm-x", false, "client"],
          ["vm-y", true, "process"],
        ]);
        // The next change reclaims the dead owner; its VF is free again.
        expect(await b.leasePci("vm-z", VF0)).toMatchObject({ owner: "vm-z" });
        await expect(b.leasePci("vm-z", VF1)).rejects.toMatchObject({
          code: "ERR_POOL_BUSY",
          owner: "vm-y",
        });
        await vm.process.stop();
        await waitUntilGone(vm.pid);
        const reclaimed = await b.reclaim();
        expect(
          reclaimed.map((owner) => [owner.owner, owner.leases.map((lease) => lease.type)]),
        ).toEqual([["vm-y", ["pci"]]]);
        expect((await b.leases()).owners.map((owner) => owner.owner)).toEqual(["vm-z"]);
      });
      test("transfer needs a running process", async ({ pools }) => {
        const pool = await open(pools);
        await pool.leaseCpus("vm0", 1);
        const vm = await pools.sleeper();
        await expect(
          pool.transfer("vm0", { pid: vm.pid, startTime: vm.startTime + 1n }),
        ).rejects.toMatchObject({
          code: "ERR_POOL_HOLDER_GONE",
        });
        await vm.process.stop();
        await waitUntilGone(vm.pid);
        await expect(
          pool.transfer("vm0", { pid: vm.pid, startTime: vm.startTime }),
        ).rejects.toMatchObject({
          code: "ERR_POOL_HOLDER_GONE",
        });
        await expect(
          pool.transfer("nobody", { pid: vm.pid, startTime: vm.startTime }),
        ).rejects.toMatchObject({
          code: "ERR_POOL_UNKNOWN_RESOURCE",
        });
      });
      test("another client adopts a transferred owner (after attaching to its VM), then manages it", async ({
        pools,
      }) => {
        const a = await open(pools);
        const b = await open(pools);
        await a.leaseCpus("vm0", [3]);
        await a.leaseCpus("vm1", [4]);
        const vm = await pools.sleeper();
        await a.transfer("vm0", { pid: vm.pid, startTime: vm.startTime });
        await a.close();
        const snapshot = await b.leases();
        expect(snapshot.owners.map((owner) => owner.owner)).toEqual(["vm0"]);
        await expect(b.release("vm0")).rejects.toMatchObject({ code: "ERR_POOL_BUSY" });
        expect((await b.adopt("vm0")).map((lease) => lease.type)).toEqual(["cpu"]);
        expect((await b.leaseCpus("vm0", [5])).length).toBe(1);
        expect((await b.release("vm0")).length).toBe(2);
      });
      test("close() releases what its anchor holds and keeps what was transferred", async ({
        pools,
      }) => {
        const a = await open(pools);
        await a.leaseCpus("vm0", [1]);
        await a.leaseCpus("vm1", [2]);
        const vm = await pools.sleeper();
        await a.transfer("vm1", { pid: vm.pid, startTime: vm.startTime });
        await a.close();
        await expect(a.leaseCpus("vm2", 1)).rejects.toMatchObject({ code: "ERR_POOL_CLOSED" });
        const owners = (await readStateLines(pools.stateDir)).filter(
          (line) => line.owner !== undefined && line.lease === undefined,
        );
        expect(owners.map((line) => line.owner)).toEqual(["vm1"]);
      });
      test("a killed anchor is replaced and the client keeps its owners", async ({
        pools,
        target,
      }) => {
        const pool = await open(pools);
        await pool.leaseCpus("vm0", [1]);
        const first = pool.holder;
        await target.host.kill(first.pid, "SIGKILL");
        await waitUntilGone(first.pid);
        expect((await pool.leaseCpus("vm0", [2])).length).toBe(1);
        expect(pool.holder.pid).not.toBe(first.pid);
        const snapshot = await pool.leases();
        expect(
          snapshot.owners.map((owner) => [owner.owner, owner.alive, owner.holder.pid]),
        ).toEqual([["vm0", true, pool.holder.pid]]);
        expect(snapshot.leases.map((lease) => (lease.type === "cpu" ? lease.cpu : -1))).toEqual([
          1, 2,
        ]);
      });

      if (name === "ssh")
        test("the connection drops: the pool reconnects, starts a new anchor and keeps its owners", async ({
          pools,
          target,
        }) => {
          const pool = await open(pools);
          await pool.leaseCpus("vm0", [1]);
          const first = pool.holder.pid;
          await target.dropConnection!();
          await waitUntilGone(first);
          expect((await pool.leaseCpus("vm0", [2])).length).toBe(1);
          expect(pool.holder.pid).not.toBe(first);
          const snapshot = await pool.leases();
          expect(snapshot.owners.map((owner) => [owner.owner, owner.alive])).toEqual([
            ["vm0", true],
          ]);
          expect(snapshot.leases).toHaveLength(2);
        });
    });

    describe("the lock", () => {
      /** What the anchor's lock descriptor points at, once it has one matching `pattern`. */
      async function anchorLockFd(pid: number, pattern: RegExp): Promise<string> {
        const deadline = Date.now() + 60_000;
        for (;;) {
          const link = (() => {
            try {
              return readlinkSync(`/proc/${pid}/fd/9`);
            } catch {
              return "";
            }
          })();
          if (pattern.test(link)) return link;
          if (Date.now() > deadline) throw new Error(`fd 9 of ${pid} is ${link || "closed"}`);
          await delay(10);
        }
      }
      test("a lock file replaced while a client waits on the old one: the client locks the new one", async ({
        pools,
      }) => {
        const pool = await open(pools);
        await pool.leases();
        const lock = join(pools.stateDir, "lock");
        const old = await pools.holdLock(lock);
        const call = pool.leaseCpus("vm0", [1]);
        await anchorLockFd(pool.holder.pid, /\/lock$/);
        renameSync(lock, `${lock}.old`);
        // A lock file like the pool's own: ours, private, one name.
        writeFileSync(lock, "", { mode: 0o600 });
        const current = await pools.holdLock(lock);
        old.stdin.end();
        await old.exited;
        // The anchor got the old file's lock, saw it is no longer the lock file, and now waits for the new one.
        await anchorLockFd(pool.holder.pid, /\/lock$/);
        expect(existsSync(join(pools.stateDir, "state.jsonl"))).toBe(false);
        current.stdin.end();
        expect((await call).map((lease) => lease.cpu)).toEqual([1]);
      });
      test("clients opened at once on a new directory make one lock between them and share it", async ({
        pools,
        tempDir,
      }) => {
        // Each anchor makes the lock by linking a private file to the name (never by
        // opening the name): the first link wins, the others use the winner's file.
        for (let round = 0; round < 4; round++) {
          pools.stateDir = join(tempDir.path, `new-${round}`);
          const clients = await Promise.all(Array.from({ length: 6 }, () => open(pools)));
          expect(readdirSync(pools.stateDir)).toEqual(["lock"]);
          const ports = await Promise.all(
            clients.map((pool, index) => pool.leasePort(`vm${index}`, "forward")),
          );
          expect(new Set(ports.map((lease) => lease.port)).size).toBe(clients.length);
          expect(readdirSync(pools.stateDir).sort()).toEqual(["lock", "state.jsonl"]);
          // (An SSH connection carries 10 sessions at most: sshd's MaxSessions.)
          await Promise.all(clients.map((pool) => pool.close()));
        }
      });
    });

    describe("deadlines", () => {
      test("an aborted call does nothing", async ({ pools }) => {
        const pool = await open(pools);
        const controller = new AbortController();
        controller.abort(new Error("stop"));
        await expect(pool.leaseCpus("vm0", 1, { signal: controller.signal })).rejects.toMatchObject(
          { code: "ERR_ABORTED" },
        );
        expect((await pool.leases()).owners).toEqual([]);
      });
      test("waiting for a lock someone holds times out with ERR_TIMEOUT, and nothing is leased afterwards", async ({
        pools,
      }) => {
        const pool = await open(pools);
        await pool.leases();
        const holder = await pools.holdLock(join(pools.stateDir, "lock"));
        const controller = new AbortController();
        const timedOut = pool.leaseCpus("vm0", 1, { timeoutMs: 500 });
        const aborted = pool.leaseCpus("vm1", 1, { signal: controller.signal });
        await expect(timedOut).rejects.toMatchObject({ code: "ERR_TIMEOUT", timeoutMs: 500 });
        controller.abort();
        await expect(aborted).rejects.toMatchObject({ code: "ERR_ABORTED" });
        holder.stdin.end();
        await holder.exited;
        expect((await pool.leases()).owners).toEqual([]);
        expect((await pool.leaseCpus("vm2", 1)).length).toBe(1);
      });
    });
  });
}
