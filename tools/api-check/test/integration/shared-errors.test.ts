import { spawn } from "node:child_process";
import { once } from "node:events";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { assignPorts, unassignedPorts, type VmSpec } from "@qemu-kvm/bootline";
import { connectGuestAgent } from "@qemu-kvm/control";
import { TimeoutError } from "@qemu-kvm/core";
import { createLocalHost } from "@qemu-kvm/host";
import { connectQmp } from "@qemu-kvm/monitor";
import { openPool } from "@qemu-kvm/pool";
import { test } from "@qemu-kvm/testkit/fixtures";
import { expect } from "vitest";

/** What a call rejected with (fails the test if it resolved). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail("resolved, but a timeout was expected"),
    (error: unknown) => error,
  );
}

async function connect(path: string): Promise<Socket> {
  const socket = createConnection(path);
  await once(socket, "connect");
  return socket;
}

test("one TimeoutError.isInstance check catches a timeout of host, monitor, control and pool", async ({
  launchQemu,
  tempDir,
}) => {
  const timeouts: unknown[] = [];

  // host: a command that outlives its deadline.
  await using host = createLocalHost();
  timeouts.push(await rejection(host.exec("sleep", ["30"], { timeoutMs: 100 })));

  // monitor and control: a real QEMU with a guest agent port and no guest to answer it.
  const agentPath = join(tempDir.path, "qga.sock");
  const qemu = await launchQemu({
    args: [
      "-chardev",
      `socket,id=qga0,path=${agentPath},server=on,wait=off`,
      "-device",
      "virtio-serial",
      "-device",
      "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0",
    ],
  });
  await using qmp = await connectQmp(await connect(qemu.qmpPath));
  timeouts.push(await rejection(qmp.waitForEvent("SHUTDOWN", undefined, { timeoutMs: 100 })));
  const agentStream = await connect(agentPath);
  timeouts.push(await rejection(connectGuestAgent(agentStream, { timeoutMs: 300 })));
  agentStream.destroy();

  // pool: a lease that waits for a lock someone else holds.
  const stateDir = join(tempDir.path, "pool");
  await using pool = await openPool(host, { stateDir });
  await pool.leases();
  const holder = spawn("flock", [join(stateDir, "lock"), "sh", "-c", "echo locked; exec cat"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  try {
    await once(holder.stdout, "data");
    timeouts.push(await rejection(pool.leasePort("vm0", "serial", { timeoutMs: 300 })));
  } finally {
    holder.stdin.end();
    await once(holder, "exit");
  }

  expect(timeouts).toHaveLength(4);
  for (const error of timeouts) {
    expect(TimeoutError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: "ERR_TIMEOUT" });
  }
});

test("the pool leases every port a spec asks for, of the kinds bootline names, and bootline takes them", async ({
  tempDir,
}) => {
  const spec: VmSpec = {
    name: "vm0",
    nets: [{ type: "user", hostForwards: [{ hostPort: "auto", guestPort: 22 }] }],
    serial: { type: "telnet", port: "auto" },
    display: { type: "vnc", display: "auto" },
    incoming: { port: "auto" },
  };
  const requests = unassignedPorts(spec);
  expect(new Set(requests.map((request) => request.kind))).toEqual(
    new Set(["forward", "serial", "display", "migration"]),
  );
  await using host = createLocalHost();
  await using pool = await openPool(host, { stateDir: join(tempDir.path, "pool") });
  const ports: Record<string, number> = {};
  for (const request of requests)
    ports[request.field] = (await pool.leasePort("vm0", request.kind)).port;
  const filled = assignPorts(spec, ports);
  expect(unassignedPorts(filled)).toEqual([]);
  expect((await pool.leases()).owners.map((owner) => owner.owner)).toEqual(["vm0"]);
});
