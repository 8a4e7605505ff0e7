import { expect, test } from "vitest";
import { leaseRequestOf } from "../../src/start/leases.js";

test("the lease request: a port of its kind for each auto port, the named ports, CPUs and PCI devices", () => {
  const { request, fields } = leaseRequestOf({
    name: "vm0",
    runtimeDir: "/run/qemu-kvm/vms/vm0",
    cpu: { count: 2, hostCpus: [3, 4] },
    nets: [
      {
        type: "user",
        hostForwards: [
          { hostPort: "auto", guestPort: 22 },
          { hostPort: 8080, guestPort: 80 },
        ],
      },
    ],
    serial: { type: "telnet", port: "auto" },
    display: { type: "vnc", display: 3 },
    incoming: { port: 4444 },
    passthrough: [{ host: "0000:81:00.1" }],
  });
  expect(fields).toEqual(["nets[0].hostForwards[0].hostPort", "serial.port"]);
  expect(request.ports).toEqual([
    { kind: "forward" },
    { kind: "serial" },
    { kind: "forward", port: 8080 },
    { kind: "display", port: 5903 },
    { kind: "migration", port: 4444 },
  ]);
  expect(request.cpus).toEqual([3, 4]);
  expect(request.pci).toEqual(["0000:81:00.1"]);
});

test("a spec on unix sockets asks for no port", () => {
  const { request } = leaseRequestOf({
    name: "vm0",
    runtimeDir: "/run/qemu-kvm/vms/vm0",
    serial: { type: "unix" },
  });
  expect(request).toEqual({ ports: [] });
});
