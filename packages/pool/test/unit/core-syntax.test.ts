/**
 * The pool reads CPU lists, PCI addresses and port kinds as @qemu-kvm/core
 * does, so what bootline accepts the pool leases, and what core refuses the
 * pool refuses.
 */
import { readFileSync } from "node:fs";
import { PORT_KINDS } from "@qemu-kvm/core";
import { describe, expect, test } from "vitest";
import { openPool, type PoolOptions } from "../../src/index.js";
import { FakeHost } from "../helpers/fake-host.js";

function open(fake: FakeHost, options: PoolOptions = {}) {
  return openPool(fake.host, { heartbeat: false, ...options });
}

describe("PCI addresses", () => {
  test("81:0.1, as bootline accepts it, is leased as 0000:81:00.1", async () => {
    const fake = new FakeHost();
    fake.pci.set("0000:81:00.1", {});
    const pool = await open(fake);
    expect(await pool.leasePci("vm0", "81:0.1")).toMatchObject({
      address: "0000:81:00.1",
      function: "device",
    });
    await pool.close();
  });

  test("a described PF and VF written the short way", async () => {
    const fake = new FakeHost();
    const pool = await open(fake, { topology: { pci: [{ address: "81:0.0", vfs: ["81:2.1"] }] } });
    expect(await pool.leasePci("vm0", "0000:81:02.1")).toMatchObject({
      function: "vf",
      pf: "0000:81:00.0",
    });
    await pool.close();
  });
});

describe("CPU lists", () => {
  test("CPU 8192 is refused as core refuses it, in a topology and in a request", async () => {
    const fake = new FakeHost();
    expect(() => open(fake, { topology: { cpus: { online: [0, 8192] } } })).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT" }),
    );
    expect(() => open(fake, { cpus: "0-8192" })).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "options.cpus" }),
    );
    const pool = await open(fake);
    expect(() => pool.leaseCpus("vm0", [8192])).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT" }),
    );
    expect(fake.transactions).toBe(0);
    await pool.close();
  });

  test("a CPU list separated by whitespace, as Linux and DTS write them", async () => {
    const fake = new FakeHost();
    const pool = await open(fake, { cpus: "1 2\t3" });
    expect(pool.topology.allowed).toEqual([1, 2, 3]);
    await pool.close();
  });
});

describe("port kinds", () => {
  test("one port of every kind core names (bootline asks for these)", async () => {
    const fake = new FakeHost();
    const pool = await open(fake);
    const leased = [];
    for (const kind of PORT_KINDS) leased.push(await pool.leasePort("vm0", kind));
    expect(leased.map((lease) => [lease.kind, lease.port])).toEqual([
      ["forward", 6000],
      ["serial", 7000],
      ["migration", 8000],
      ["display", 5900],
    ]);
    await pool.close();
  });
});

describe("a state file of the previous version", () => {
  test('its "migrate" port leases are read as "migration" and written back so', async () => {
    const fake = new FakeHost();
    fake.state = readFileSync(
      new URL("../fixtures/state-v1-migrate.jsonl", import.meta.url),
      "utf8",
    );
    // The owner's holder (a VM's QEMU) still runs.
    fake.processes.set(4242, 981234n);
    const pool = await open(fake);
    const before = await pool.leases();
    expect(before.leases.map((lease) => lease.type === "port" && [lease.kind, lease.port])).toEqual(
      [
        ["migration", 8000],
        ["forward", 6000],
      ],
    );
    // Its port is still held: the next migration port is the one after it.
    expect((await pool.leasePort("vm1", "migration")).port).toBe(8001);
    expect(fake.state).not.toContain('"migrate"');
    expect(fake.state).toContain('{"lease":"port","owner":"vm0","kind":"migration","port":8000');
    await pool.close();
  });
});
