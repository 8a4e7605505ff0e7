import { join } from "node:path";
import type { TempDir } from "@qemu-kvm/testkit";
import { describe, expect } from "vitest";
import { parseInfoMigrate, QmpMigrationError } from "../../src/index.js";
import { type Launch, test } from "../helpers/launch.js";

const MACHINE = ["-M", "pc", "-m", "64"];

async function pair(launch: Launch, dir: TempDir) {
  const uri = `unix:${join(dir.path, "migrate.sock")}`;
  const source = await launch(MACHINE);
  const destination = await launch([...MACHINE, "-incoming", uri]);
  // The destination reports MIGRATION events only with the capability on.
  await destination.qmp.setMigrationCapabilities({ events: true });
  return { source, destination, uri };
}

describe("migration against real QEMU", () => {
  test("migrates to an incoming QEMU; both sides see it complete", async ({ launch, tempDir }) => {
    const { source, destination, uri } = await pair(launch, tempDir);
    const incoming = destination.qmp.waitForMigration({ timeoutMs: 120_000 });
    const events = source.qmp.events("MIGRATION");
    await source.qmp.migrate(uri);
    const done = await source.qmp.waitForMigration({ timeoutMs: 120_000 });
    expect(done.status).toBe("completed");
    // Final statistics, not the zeros QEMU reports in the instant after announcing completion.
    expect(done.totalTimeMs).toBeGreaterThan(0);
    expect(done.ram?.total).toBeGreaterThan(60 * 1024 * 1024);
    expect((await incoming).status).toBe("completed");
    const statuses: string[] = [];
    for await (const event of events) {
      statuses.push(event.data.status);
      if (event.data.status === "completed") break;
    }
    expect(statuses[0]).toBe("setup");
    expect(statuses).toContain("active");
    // QEMU sets the source's run state to postmigrate in the migration's cleanup, after
    // it has announced completion: in that window it still says finish-migrate (seen on
    // 10.0 under load). Either way the vCPUs are stopped for good.
    const after = await source.qmp.queryStatus();
    expect(["finish-migrate", "postmigrate"]).toContain(after.status);
    expect(after.running).toBe(false);
    const text = await source.qmp.hmp("info migrate");
    const parsed = parseInfoMigrate(text);
    expect(parsed).toMatchObject({
      status: "completed",
      totalTimeMs: done.totalTimeMs,
      downtimeMs: done.downtimeMs,
    });
    expect(parsed.totalRamKiB).toBe(Math.floor(done.ram!.total / 1024));
  });

  test("cancels a throttled migration: waitForMigration rejects with status cancelled", async ({
    launch,
    tempDir,
  }) => {
    const { source, uri } = await pair(launch, tempDir);
    await source.qmp.setMigrationParameters({ "max-bandwidth": 1024 });
    const active = source.qmp.waitForEvent("MIGRATION", (event) => event.data.status === "active");
    await source.qmp.migrate(uri);
    await active;
    const during = parseInfoMigrate(await source.qmp.hmp("info migrate"));
    expect(during.status).toBe("active");
    expect(during.remainingRamKiB).toBeGreaterThan(0);
    expect((await source.qmp.queryMigration()).status).toBe("active");
    const waiting = source.qmp.waitForMigration({ timeoutMs: 120_000 });
    await source.qmp.cancelMigration();
    const error = await waiting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QmpMigrationError);
    expect(error).toMatchObject({ code: "ERR_QMP_MIGRATION", status: "cancelled" });
    expect(parseInfoMigrate(await source.qmp.hmp("info migrate")).status).toBe("cancelled");
  });

  test("reports a failed migration with QEMU's description", async ({ launch, tempDir }) => {
    const { qmp } = await launch(MACHINE);
    await qmp.migrate(`unix:${join(tempDir.path, "nobody-listens.sock")}`);
    const error = (await qmp
      .waitForMigration({ timeoutMs: 120_000 })
      .catch((e: unknown) => e)) as QmpMigrationError;
    expect(error).toMatchObject({ code: "ERR_QMP_MIGRATION", status: "failed" });
    expect(error.errorDescription).toMatch(/nobody-listens\.sock/);
    const parsed = parseInfoMigrate(await qmp.hmp("info migrate"));
    expect(parsed.status).toBe("failed");
    expect(parsed.errorDescription).toBe(error.errorDescription);
  });
});
