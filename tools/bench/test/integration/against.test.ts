import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { test } from "@qemu-kvm/testkit/fixtures";
import { expect, onTestFinished } from "vitest";
import {
  type BenchRun,
  createFixtureRepo,
  findWorktreePath,
  startBench,
  worktreePath,
  worktrees,
} from "../helpers/fixture-repo.js";

/**
 * Starts the CLI; whatever happens, it is killed after the test and the temporary
 * directory of any worktree it made is removed (the repository, and so the
 * worktree's registration, goes with the test's temp dir).
 */
function bench(repo: string, args: string[], env: Record<string, string> = {}): BenchRun {
  const started = startBench(repo, args, env);
  onTestFinished(async () => {
    started.child.kill("SIGKILL");
    await started.exited;
    const path = findWorktreePath(started.stdout());
    if (path) await rm(dirname(path), { recursive: true, force: true });
  });
  return started;
}

async function events(file: string): Promise<string[]> {
  return (await readFile(file, "utf8")).trim().split("\n");
}

/** The old tree, its worktree registration and its temporary directory are gone. */
async function expectWorktreeRemoved(repo: string, stdout: string): Promise<void> {
  const path = worktreePath(stdout);
  expect(await worktrees(repo)).toEqual([repo]);
  expect(existsSync(dirname(path))).toBe(false);
}

test("compares this tree with the old code of a revision and fails on a case more than 5 % slower", async ({
  tempDir,
}) => {
  const repo = await createFixtureRepo(tempDir.path);
  const log = join(tempDir.path, "events");
  const run = bench(repo, ["--against", "HEAD", "demo"], { FIXTURE_EVENTS: log });
  expect(await run.exited, run.stderr()).toBe(1);
  const stdout = run.stdout();
  const oldTree = worktreePath(stdout);

  // The old tree's benchmark loaded the old library, from its own checkout's sources.
  const lines = await events(log);
  expect(lines).toContain(`1 setup file://${oldTree}/packages/lib/src/index.ts`);
  expect(lines).toContain(`2 setup file://${repo}/packages/lib/src/index.ts`);
  expect(lines.filter((line) => line.endsWith("teardown")).sort()).toEqual([
    "1 teardown",
    "2 teardown",
  ]);
  expect(stdout).toContain(`    @qemu-kvm/fixture-lib → ${oldTree}/packages/lib/src/index.ts`);
  expect(stdout).toContain(`    @qemu-kvm/fixture-lib → ${repo}/packages/lib/src/index.ts`);
  expect(stdout).toContain("+ uncommitted changes");

  // The table: 10 ms before, 20 ms after (slower); the rate unchanged.
  const row = (name: string) => stdout.split("\n").find((line) => line.startsWith(`${name} `));
  expect(row("demo.duration")?.split(/\s{2,}/)).toEqual([
    "demo.duration",
    "ms",
    "10.00",
    "20.00",
    "2.000x",
    "±0.0 %",
    "SLOWER by 100.0 %",
  ]);
  expect(row("demo.rate")?.split(/\s{2,}/)).toEqual([
    "demo.rate",
    "ops/s",
    "500",
    "500",
    "1.000x",
    "±0.0 %",
    "same (0.0 % slower, within 5.0 %)",
  ]);
  expect(stdout).toContain("not compared: demo.old-only: case only in HEAD");
  expect(stdout).toContain("not compared: demo.new-only: case only in this tree");
  expect(stdout).toContain(
    "against HEAD: 2 cases compared: 1 more than 5.0 % slower (demo.duration), 0 faster, 1 the same; 2 not compared",
  );

  const json = JSON.parse(
    await readFile(join(repo, "tools", "bench", "bench-compare.json"), "utf8"),
  );
  expect(json).toMatchObject({
    against: "HEAD",
    before: {
      commit: (await worktrees(repo)).length === 1 ? expect.stringMatching(/^[0-9a-f]{40}$/) : "",
    },
    after: { uncommitted: true },
    threshold: 0.05,
    compared: [
      {
        name: "demo.duration",
        unit: "ms",
        better: "lower",
        before: { median: 10, samples: [10, 10, 10] },
        after: { median: 20, samples: [20, 20, 20] },
        ratio: 2,
        noise: 0,
        verdict: "slower",
      },
      { name: "demo.rate", better: "higher", verdict: "same" },
    ],
    notCompared: [
      { name: "demo.old-only", reason: "case only in HEAD" },
      { name: "demo.new-only", reason: "case only in this tree" },
    ],
  });
  await expectWorktreeRemoved(repo, stdout);
});

test("a case that fails in the old tree: both teardowns run, the worktree is removed, exit code 2", async ({
  tempDir,
}) => {
  const repo = await createFixtureRepo(tempDir.path);
  const log = join(tempDir.path, "events");
  const run = bench(repo, ["--against", "HEAD"], { FIXTURE_EVENTS: log, FIXTURE_MODE: "fail" });
  expect(await run.exited).toBe(2);
  expect(run.stderr()).toContain("the old tree's case failed");
  const lines = await events(log);
  expect(lines.filter((line) => line.endsWith("teardown")).sort()).toEqual([
    "1 teardown",
    "2 teardown",
  ]);
  await expectWorktreeRemoved(repo, run.stdout());
});

test("Ctrl-C while a case runs: both teardowns run, the worktree is removed, exit code 130", async ({
  tempDir,
}) => {
  const repo = await createFixtureRepo(tempDir.path);
  const log = join(tempDir.path, "events");
  const run = bench(repo, ["--against", "HEAD", "demo"], {
    FIXTURE_EVENTS: log,
    FIXTURE_MODE: "hang",
  });
  await run.waitForOutput("fixture: running");
  run.child.kill("SIGINT");
  expect(await run.exited).toBe(130);
  const lines = await events(log);
  expect(lines).toContain("2 running");
  expect(lines.filter((line) => line.endsWith("teardown")).sort()).toEqual([
    "1 teardown",
    "2 teardown",
  ]);
  await expectWorktreeRemoved(repo, run.stdout());
});

test("a revision that names no commit fails with exit code 2 and leaves no worktree", async ({
  tempDir,
}) => {
  const repo = await createFixtureRepo(tempDir.path);
  const run = bench(repo, ["--against", "no-such-branch"]);
  expect(await run.exited).toBe(2);
  expect(run.stderr()).toBe(`no-such-branch names no commit in ${repo}\n`);
  expect(await worktrees(repo)).toEqual([repo]);
});
