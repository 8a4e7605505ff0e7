import { describe, expect, test } from "vitest";
import {
  moduleLoadOrder,
  moduleLoadStages,
  moduleName,
  parseDepends,
} from "../../src/module-order.js";

// The `depends=` strings of Debian's 6.1 kernel for the guest's modules.
const DEBIAN_6_1: Record<string, string> = {
  virtio_ring: "",
  virtio: "",
  virtio_pci_modern_dev: "",
  virtio_pci_legacy_dev: "",
  virtio_pci: "virtio_ring,virtio_pci_modern_dev,virtio_pci_legacy_dev,virtio",
  failover: "",
  net_failover: "failover",
  virtio_net: "virtio_ring,virtio,net_failover",
  e1000: "",
  virtio_console: "virtio,virtio_ring",
  virtio_rng: "virtio,virtio_ring",
};
const dependsOf = (name: string) =>
  name in DEBIAN_6_1 ? parseDepends(DEBIAN_6_1[name]) : undefined;

describe("module order", () => {
  test("names: file names and `-` normalise to the kernel's names", () => {
    expect(moduleName("virtio-rng.ko")).toBe("virtio_rng");
    expect(moduleName("e1000.ko.xz")).toBe("e1000");
    expect(parseDepends("virtio_ring, virtio-pci,")).toEqual(["virtio_ring", "virtio_pci"]);
    expect(parseDepends("")).toEqual([]);
    expect(parseDepends(undefined)).toEqual([]);
  });

  test("every module after its dependencies, each once", () => {
    const order = moduleLoadOrder(
      ["virtio_pci", "virtio_net", "e1000", "virtio_console", "virtio-rng"],
      dependsOf,
    );
    expect(order).toEqual([
      "virtio_ring",
      "virtio_pci_modern_dev",
      "virtio_pci_legacy_dev",
      "virtio",
      "virtio_pci",
      "failover",
      "net_failover",
      "virtio_net",
      "e1000",
      "virtio_console",
      "virtio_rng",
    ]);
    for (const [index, name] of order.entries())
      for (const dependency of dependsOf(name)!)
        expect(order.indexOf(dependency)).toBeLessThan(index);
  });

  test("stages load only what earlier stages did not", () => {
    const stages = moduleLoadStages(
      [
        ["network", ["virtio_pci", "virtio_net"]],
        ["agent", ["virtio_console"]],
        ["entropy", ["virtio_rng", "virtio"]],
      ],
      dependsOf,
    );
    expect(stages).toEqual([
      [
        "network",
        [
          "virtio_ring",
          "virtio_pci_modern_dev",
          "virtio_pci_legacy_dev",
          "virtio",
          "virtio_pci",
          "failover",
          "net_failover",
          "virtio_net",
        ],
      ],
      ["agent", ["virtio_console"]],
      ["entropy", ["virtio_rng"]],
    ]);
  });

  test("a missing module names who needs it; a cycle is reported", () => {
    expect(() => moduleLoadOrder(["a"], (n) => (n === "a" ? ["b"] : undefined))).toThrow(
      /module b \(needed by a\) is not in the kernel package/,
    );
    expect(() => moduleLoadOrder(["a"], (n) => ({ a: ["b"], b: ["c"], c: ["a"] })[n])).toThrow(
      /cycle: a → b → c → a/,
    );
  });
});
