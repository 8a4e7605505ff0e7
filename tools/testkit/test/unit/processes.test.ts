import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { afterEach, expect, test } from "vitest";
import { freePort, isAliveNow, startTimeNow, waitUntilGone } from "../../src/index.js";

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
  }
});

/** `sh` forks `sleep 0` and becomes `sleep 1000`, which never reaps it: a zombie that is not ours. */
async function zombieAndParent(): Promise<{ zombie: number; parent: ChildProcess }> {
  const parent = spawn("sh", ["-c", "sleep 0 & echo $!; exec sleep 1000"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  children.push(parent);
  const [line] = (await once(parent.stdout!, "data")) as [Buffer];
  return { zombie: Number(line.toString().trim()), parent };
}

test("freePort gives a port that can be bound at once", async () => {
  const port = await freePort();
  const server = createServer().listen(port, "127.0.0.1");
  await once(server, "listening");
  server.close();
  await once(server, "close");
});

test("a process that is not our child: alive while it runs, gone once a zombie", async () => {
  const { zombie, parent } = await zombieAndParent();
  expect(isAliveNow(parent.pid!)).toBe(true);
  expect(startTimeNow(parent.pid!)).toBeGreaterThanOrEqual(startTimeNow(process.pid));
  await waitUntilGone(zombie, 10_000);
  expect(isAliveNow(zombie)).toBe(false);
});

test("waitUntilGone fails with the survivors after its deadline", async () => {
  const { zombie, parent } = await zombieAndParent();
  await expect(waitUntilGone([zombie, parent.pid!], 100)).rejects.toThrow(
    new RegExp(`still alive after 100 ms: ${parent.pid}$`),
  );
});
