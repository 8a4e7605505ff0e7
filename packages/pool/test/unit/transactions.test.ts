import { describe, expect, test } from "vitest";
import { DEFAULT_PORT_RANGES } from "../../src/client/options.js";
import type { PoolErrorCode } from "../../src/index.js";
import { checkPoolState } from "../../src/records/check.js";
import { emptyState, type HolderRecord, type PoolState } from "../../src/records/records.js";
import type { PciFacts, ProcStat } from "../../src/transactions/facts.js";
import {
  adoptOwner,
  leaseAll,
  releaseOwner,
  transferOwner,
} from "../../src/transactions/owners.js";
import {
  type CpuAsk,
  holderAlive,
  type PortAsk,
  Transaction,
  type TxEnv,
} from "../../src/transactions/transaction.js";

const ME: HolderRecord = { pid: 100, startTime: "1000", bootId: "boot", kind: "client" };
const OTHER: HolderRecord = { pid: 200, startTime: "2000", bootId: "boot", kind: "client" };

const PCI = new Map<string, PciFacts>([
  ["0000:81:00.0", { address: "0000:81:00.0", function: "pf" }],
  ["0000:81:02.0", { address: "0000:81:02.0", function: "vf", pf: "0000:81:00.0" }],
  ["0000:81:02.1", { address: "0000:81:02.1", function: "vf", pf: "0000:81:00.0" }],
  ["0000:00:05.0", { address: "0000:00:05.0", function: "device" }],
]);

function env(overrides: Partial<TxEnv> = {}): TxEnv {
  const procs = new Map<number, ProcStat | undefined>([
    [100, { state: "S", startTime: "1000" }],
    [200, { state: "S", startTime: "2000" }],
  ]);
  return {
    statePath: "/state/state.jsonl",
    now: "2025-01-01T00:00:00.000Z",
    client: { id: "me", machine: "m", pid: 1 },
    holder: ME,
    bootId: "boot",
    procs,
    netBusy: new Map(),
    pci: PCI,
    topology: {
      online: [0, 1, 2, 3, 4, 5, 6, 7],
      nodes: new Map([
        [0, [0, 1, 2, 3]],
        [1, [4, 5, 6, 7]],
      ]),
      isolated: [],
      allowed: [1, 2, 3, 4, 5, 6, 7],
    },
    portRanges: { ...DEFAULT_PORT_RANGES, tiny: { from: 9000, to: 9002 } },
    ...overrides,
  };
}

/** A transaction as the other client (id "other", anchor OTHER) sees the same state. */
function asOther(state: PoolState, overrides: Partial<TxEnv> = {}): Transaction {
  return new Transaction(
    state,
    env({ client: { id: "other", machine: "n", pid: 2 }, holder: OTHER, ...overrides }),
  );
}

function ports(tx: Transaction, owner: string, ...asks: PortAsk[]) {
  return leaseAll(tx, owner, { ports: asks, cpus: undefined, pci: [] }).ports.map(
    (lease) => lease.port,
  );
}

function cpus(tx: Transaction, owner: string, ask: Partial<CpuAsk>) {
  return leaseAll(tx, owner, { ports: [], cpus: { shared: false, ...ask }, pci: [] }).cpus.map(
    (lease) => lease.cpu,
  );
}

function pci(tx: Transaction, owner: string, address: string) {
  return leaseAll(tx, owner, { ports: [], cpus: undefined, pci: [address] }).pci[0]!;
}

function error(fn: () => unknown): Error & { code: PoolErrorCode } {
  try {
    fn();
  } catch (caught) {
    return caught as Error & { code: PoolErrorCode };
  }
  throw new Error("no error");
}

describe("ports", () => {
  test("lowest free first, skipping leased ports and ports in use on the host; reused after release", () => {
    const tx = new Transaction(
      emptyState(),
      env({
        netBusy: new Map([
          [6001, ["tcp"]],
          [6003, ["udp6"]],
        ]),
      }),
    );
    expect(ports(tx, "vm0", { kind: "forward" })).toEqual([6000]);
    expect(ports(tx, "vm1", { kind: "forward" }, { kind: "forward" })).toEqual([6002, 6004]);
    expect(
      ports(tx, "vm0", { kind: "serial" }, { kind: "migration" }, { kind: "display" }),
    ).toEqual([7000, 8000, 5900]);
    releaseOwner(tx, "vm0");
    expect(ports(tx, "vm2", { kind: "forward" })).toEqual([6000]);
    expect(checkPoolState(tx.state)).toBeUndefined();
  });

  test("an exhausted range says which kind and range", () => {
    const tx = new Transaction(emptyState(), env({ netBusy: new Map([[9001, ["tcp"]]]) }));
    expect(ports(tx, "vm0", { kind: "tiny" }, { kind: "tiny" })).toEqual([9000, 9002]);
    const failure = error(() => ports(tx, "vm1", { kind: "tiny" }));
    expect(failure).toMatchObject({
      code: "ERR_POOL_EXHAUSTED",
      resource: "port",
      kind: "tiny",
      range: { from: 9000, to: 9002 },
    });
  });

  test("a given port: busy with its owner, busy on the host, or granted (again, to the same owner)", () => {
    const tx = new Transaction(emptyState(), env({ netBusy: new Map([[5901, ["tcp", "tcp6"]]]) }));
    expect(ports(tx, "vm0", { kind: "display", port: 5905 })).toEqual([5905]);
    expect(ports(tx, "vm0", { kind: "display", port: 5905 })).toEqual([5905]);
    expect(tx.state.leases).toHaveLength(1);
    expect(error(() => ports(tx, "vm1", { kind: "display", port: 5905 }))).toMatchObject({
      code: "ERR_POOL_BUSY",
      owner: "vm0",
      resource: { type: "port", port: 5905 },
    });
    expect(error(() => ports(tx, "vm1", { kind: "display", port: 5901 }))).toMatchObject({
      code: "ERR_POOL_BUSY",
      owner: undefined,
      inUseOnHost: ["tcp", "tcp6"],
    });
  });
});

describe("CPUs", () => {
  test("a count takes the lowest free CPUs of the pool (CPU 0 is not in it), optionally on one node", () => {
    const tx = new Transaction(emptyState(), env());
    expect(cpus(tx, "vm0", { count: 2 })).toEqual([1, 2]);
    expect(cpus(tx, "vm1", { count: 2, node: 1 })).toEqual([4, 5]);
    expect(cpus(tx, "vm2", { count: 1, node: 0 })).toEqual([3]);
    expect(error(() => cpus(tx, "vm3", { count: 1, node: 0 }))).toMatchObject({
      code: "ERR_POOL_EXHAUSTED",
      resource: "cpu",
      node: 0,
      requested: 1,
      available: 0,
    });
    expect(error(() => cpus(tx, "vm3", { count: 1, node: 7 }))).toMatchObject({
      code: "ERR_POOL_UNKNOWN_RESOURCE",
      resource: { type: "node", node: 7 },
    });
  });

  test("a list: never a CPU to two owners unless both share it; unknown and excluded CPUs are errors", () => {
    const tx = new Transaction(emptyState(), env());
    expect(cpus(tx, "vm0", { cpus: [3, 4] })).toEqual([3, 4]);
    expect(error(() => cpus(tx, "vm1", { cpus: [2, 3] }))).toMatchObject({
      code: "ERR_POOL_BUSY",
      owner: "vm0",
      resource: { type: "cpu", cpu: 3 },
    });
    expect(tx.state.leases.filter((lease) => lease.owner === "vm1")).toEqual([]);
    expect(error(() => cpus(tx, "vm1", { cpus: [3], shared: true }))).toMatchObject({
      code: "ERR_POOL_BUSY",
      owner: "vm0",
    });
    expect(cpus(tx, "vm1", { cpus: [5], shared: true })).toEqual([5]);
    expect(cpus(tx, "vm2", { cpus: [5], shared: true })).toEqual([5]);
    expect(error(() => cpus(tx, "vm3", { cpus: [5] }))).toMatchObject({ code: "ERR_POOL_BUSY" });
    expect(error(() => cpus(tx, "vm3", { cpus: [9] }))).toMatchObject({
      code: "ERR_POOL_UNKNOWN_RESOURCE",
      resource: { type: "cpu", cpu: 9 },
    });
    expect(error(() => cpus(tx, "vm3", { cpus: [0] })).message).toMatch(
      /not among the CPUs this pool hands out/,
    );
    expect(error(() => cpus(tx, "vm3", { cpus: [2], node: 1 })).message).toMatch(
      /not on NUMA node 1/,
    );
    // Asking again for what one holds is granted as it is.
    expect(cpus(tx, "vm0", { cpus: [4] })).toEqual([4]);
    expect(checkPoolState(tx.state)).toBeUndefined();
  });

  test("shared counts prefer the least shared CPUs and never take an exclusive one", () => {
    const tx = new Transaction(emptyState(), env());
    cpus(tx, "vm0", { cpus: [1] });
    cpus(tx, "vm1", { cpus: [2], shared: true });
    expect(cpus(tx, "vm2", { count: 2, shared: true })).toEqual([3, 4]);
    expect(cpus(tx, "vm3", { count: 6, shared: true })).toEqual([2, 3, 4, 5, 6, 7]);
  });
});

describe("PCI devices", () => {
  test("a VF goes to one owner only", () => {
    const tx = new Transaction(emptyState(), env());
    expect(pci(tx, "vm0", "0000:81:02.0")).toMatchObject({ function: "vf", pf: "0000:81:00.0" });
    expect(pci(tx, "vm0", "0000:81:02.0")).toMatchObject({ owner: "vm0" });
    expect(error(() => pci(tx, "vm1", "0000:81:02.0"))).toMatchObject({
      code: "ERR_POOL_BUSY",
      owner: "vm0",
    });
    expect(pci(tx, "vm1", "0000:81:02.1")).toMatchObject({ owner: "vm1" });
  });

  test("never a PF while one of its VFs is leased, and the other way round, whoever the owners are", () => {
    const tx = new Transaction(emptyState(), env());
    pci(tx, "vm0", "0000:81:02.1");
    expect(error(() => pci(tx, "vm1", "0000:81:00.0"))).toMatchObject({
      code: "ERR_POOL_CONFLICT",
      address: "0000:81:00.0",
      conflictsWith: "0000:81:02.1",
      owner: "vm0",
    });
    expect(error(() => pci(tx, "vm0", "0000:81:00.0"))).toMatchObject({
      code: "ERR_POOL_CONFLICT",
    });
    releaseOwner(tx, "vm0");
    expect(pci(tx, "vm1", "0000:81:00.0")).toMatchObject({ function: "pf" });
    expect(error(() => pci(tx, "vm2", "0000:81:02.0"))).toMatchObject({
      code: "ERR_POOL_CONFLICT",
      conflictsWith: "0000:81:00.0",
      owner: "vm1",
    });
  });

  test("unknown devices are errors; plain devices are exclusive", () => {
    const tx = new Transaction(emptyState(), env());
    expect(error(() => pci(tx, "vm0", "0000:99:00.0"))).toMatchObject({
      code: "ERR_POOL_UNKNOWN_RESOURCE",
      resource: { type: "pci" },
    });
    expect(pci(tx, "vm0", "0000:00:05.0")).toMatchObject({ function: "device" });
    expect(error(() => pci(tx, "vm1", "0000:00:05.0"))).toMatchObject({ code: "ERR_POOL_BUSY" });
  });
});

describe("owners", () => {
  test("a lease request is all or nothing", () => {
    const tx = new Transaction(emptyState(), env());
    pci(tx, "vm0", "0000:81:02.0");
    const before = JSON.stringify(tx.state);
    expect(() =>
      leaseAll(tx, "vm1", {
        ports: [{ kind: "forward" }],
        cpus: { count: 2, shared: false },
        pci: ["0000:81:00.0"],
      }),
    ).toThrow(expect.objectContaining({ code: "ERR_POOL_CONFLICT" }));
    expect(JSON.stringify(tx.state)).toBe(before);
  });

  test("an owner name belongs to the client that made it; another live client gets ERR_POOL_BUSY", () => {
    const mine = new Transaction(emptyState(), env());
    ports(mine, "vm0", { kind: "forward" });
    const theirs = asOther(mine.state);
    expect(error(() => ports(theirs, "vm0", { kind: "serial" }))).toMatchObject({
      code: "ERR_POOL_BUSY",
      resource: { type: "owner", owner: "vm0" },
      holder: { pid: 100, kind: "client" },
    });
    expect(error(() => releaseOwner(theirs, "vm0"))).toMatchObject({ code: "ERR_POOL_BUSY" });
    expect(releaseOwner(theirs, "nobody")).toEqual([]);
  });

  test("release returns every lease of the owner and removes the owner", () => {
    const tx = new Transaction(emptyState(), env());
    leaseAll(tx, "vm0", {
      ports: [{ kind: "forward" }, { kind: "serial" }],
      cpus: { count: 2, shared: false },
      pci: ["0000:81:02.0"],
    });
    ports(tx, "vm1", { kind: "forward" });
    const released = releaseOwner(tx, "vm0");
    expect(released.map((lease) => lease.lease).sort()).toEqual([
      "cpu",
      "cpu",
      "pci",
      "port",
      "port",
    ]);
    expect(tx.state.owners.map((owner) => owner.owner)).toEqual(["vm1"]);
    expect(tx.state.leases.every((lease) => lease.owner === "vm1")).toBe(true);
  });
});

describe("liveness and reclamation", () => {
  function stateOf(holders: HolderRecord[]): PoolState {
    const tx = new Transaction(emptyState(), env());
    for (let index = 0; index < holders.length; index++)
      ports(tx, `vm${index}`, { kind: "forward" });
    tx.state.owners.forEach((owner, index) => {
      owner.holder = holders[index]!;
    });
    return tx.state;
  }

  test("a holder is gone when its pid is gone, has another start time, is a zombie, or is from another boot", () => {
    const procs = new Map<number, ProcStat | undefined>([
      [1, { state: "S", startTime: "10" }],
      [2, undefined],
      [3, { state: "S", startTime: "99" }],
      [4, { state: "Z", startTime: "10" }],
    ]);
    const e = env({ procs });
    const h = (pid: number, bootId = "boot"): HolderRecord => ({
      pid,
      startTime: "10",
      bootId,
      kind: "process",
    });
    expect(holderAlive(h(1), e)).toBe(true);
    expect(holderAlive(h(2), e)).toBe(false);
    expect(holderAlive(h(3), e)).toBe(false);
    expect(holderAlive(h(4), e)).toBe(false);
    expect(holderAlive(h(1, "old-boot"), e)).toBe(false);
    // Not probed: unknown, so kept.
    expect(holderAlive(h(5), e)).toBe(true);
  });

  test("dead owners are reclaimed with all their leases; live ones stay", () => {
    const state = stateOf([OTHER, { pid: 300, startTime: "1", bootId: "boot", kind: "client" }]);
    const tx = asOther(state, {
      procs: new Map([
        [200, { state: "S", startTime: "2000" }],
        [300, undefined],
      ]),
    });
    tx.reclaimDead();
    expect(tx.reclaimed.map(({ owner, leases }) => [owner.owner, leases.length])).toEqual([
      ["vm1", 1],
    ]);
    expect(tx.state.owners.map((owner) => owner.owner)).toEqual(["vm0"]);
    expect(tx.changed).toBe(true);
    // Releasing a reclaimed owner in the same transaction returns its leases.
    expect(releaseOwner(tx, "vm1")).toHaveLength(1);
  });

  test("a new anchor of the same client takes its client-held owners back, not transferred ones", () => {
    const tx = new Transaction(emptyState(), env());
    ports(tx, "vm0", { kind: "forward" });
    ports(tx, "vm1", { kind: "forward" });
    transferOwner(tx, "vm1", 200, 2000n);
    const next = new Transaction(tx.state, env({ holder: { ...ME, pid: 101, startTime: "1001" } }));
    next.rehome();
    expect(
      next.state.owners.map((owner) => [owner.owner, owner.holder.pid, owner.holder.kind]),
    ).toEqual([
      ["vm0", 101, "client"],
      ["vm1", 200, "process"],
    ]);
  });

  test("transfer needs a live process with that start time and an owner of this client", () => {
    const tx = new Transaction(emptyState(), env());
    ports(tx, "vm0", { kind: "forward" });
    expect(error(() => transferOwner(tx, "vm0", 200, 1n))).toMatchObject({
      code: "ERR_POOL_HOLDER_GONE",
      pid: 200,
    });
    expect(error(() => transferOwner(tx, "vm0", 555, 1n))).toMatchObject({
      code: "ERR_POOL_HOLDER_GONE",
    });
    expect(error(() => transferOwner(tx, "nobody", 200, 2000n))).toMatchObject({
      code: "ERR_POOL_UNKNOWN_RESOURCE",
      resource: { type: "owner" },
    });
    transferOwner(tx, "vm0", 200, 2000n);
    expect(tx.state.owners[0]!.holder).toEqual({
      pid: 200,
      startTime: "2000",
      bootId: "boot",
      kind: "process",
    });
  });

  test("adopt takes over a transferred owner of another client, never one its live client still holds", () => {
    const tx = asOther(emptyState());
    ports(tx, "vm0", { kind: "forward" });
    ports(tx, "vm1", { kind: "forward" });
    transferOwner(tx, "vm1", 100, 1000n);
    const mine = new Transaction(tx.state, env());
    expect(error(() => adoptOwner(mine, "vm0"))).toMatchObject({ code: "ERR_POOL_BUSY" });
    expect(adoptOwner(mine, "vm1")).toHaveLength(1);
    expect(mine.state.owners.find((owner) => owner.owner === "vm1")?.client.id).toBe("me");
    expect(releaseOwner(mine, "vm1")).toHaveLength(1);
  });
});
