import { expect, test } from "vitest";
import {
  benchmarkStem,
  chooseBenchmarks,
  describeFailure,
  requestedFailures,
  workspaceImports,
} from "../../src/load-benchmarks.js";

test("workspaceImports finds the workspace packages a benchmark imports, once each", () => {
  const source = `import { a } from "@qemu-kvm/host";
import type { B } from '@qemu-kvm/bootline';
import { x } from "node:fs";
import { createVm } from "qemu-kvm";
import { other } from "qemu-kvm-extra";
import { h } from "@qemu-kvm/host";
const lazy = await import("@qemu-kvm/pool");
import type { Benchmark } from "../harness.js";`;
  expect(workspaceImports(source)).toEqual([
    "@qemu-kvm/bootline",
    "@qemu-kvm/host",
    "@qemu-kvm/pool",
    "qemu-kvm",
  ]);
});

const named = (...names: string[]) => names.map((name) => ({ benchmark: { name } }));

test("chooseBenchmarks: by name or prefix; no filter means all", () => {
  const all = named("bootline", "guest", "host", "host-extra");
  expect(chooseBenchmarks(all, [])).toEqual(all);
  expect(chooseBenchmarks(all, ["host"]).map((b) => b.benchmark.name)).toEqual([
    "host",
    "host-extra",
  ]);
  expect(chooseBenchmarks(all, ["gu", "bootline"]).map((b) => b.benchmark.name)).toEqual([
    "bootline",
    "guest",
  ]);
  expect(chooseBenchmarks(all, ["nothing"])).toEqual([]);
});

test("a file that failed to load counts as asked for when its name and a filter overlap", () => {
  const failure = (file: string) => ({
    file: `/t/tools/bench/src/benchmarks/${file}`,
    error: new Error("boom\nstack"),
  });
  const failed = [failure("guest-boot.bench.ts"), failure("host.bench.ts")];
  expect(benchmarkStem(failed[0]!.file)).toBe("guest-boot");
  expect(requestedFailures(failed, [])).toEqual(failed);
  expect(requestedFailures(failed, ["guest"])).toEqual([failed[0]]);
  expect(requestedFailures(failed, ["host.exec"])).toEqual([failed[1]]);
  expect(requestedFailures(failed, ["bootline"])).toEqual([]);
  expect(describeFailure(failed[1]!)).toBe("host.bench.ts: boom");
});
