/**
 * Compile-time checks of the typed API. The assertions here are made by the
 * TypeScript compiler (`tsc --noEmit`, the package's `typecheck`, run by
 * `pnpm test`): every `@ts-expect-error` line must fail to compile, or the
 * check fails with "unused @ts-expect-error"; every `expectTypeOf` must hold.
 * The functions are never run: a typed client is all they need.
 */
import { describe, expectTypeOf, test } from "vitest";
import type {
  DeviceSpec,
  QmpClient,
  QmpCommandArguments,
  QmpCommandName,
  QmpCommandResult,
  QmpCommands,
  QmpEvent,
  QmpEventName,
  QmpEvents,
  RunState,
} from "../../src/index.js";

describe("commands", () => {
  test("a command name must be one of the version's", () => {
    (qmp: QmpClient) => {
      // @ts-expect-error: a typo
      void qmp.execute("query-stauts");
      // @ts-expect-error: only QEMU 10.0 has it, and the default client is typed for both
      void qmp.execute("query-audiodevs");
      // @ts-expect-error: only QEMU 7.2 has it
      void qmp.execute("x-query-profile");
      // The explicit way out: any name, result as you say.
      expectTypeOf(qmp.executeUnchecked<{ a: 1 }>("query-audiodevs")).resolves.toEqualTypeOf<{
        a: 1;
      }>();
    };
  });

  test("a client typed for one version has that version's commands", () => {
    (qmp10: QmpClient<"10.0">, qmp7: QmpClient<"7.2">) => {
      void qmp10.execute("query-audiodevs");
      // @ts-expect-error: 7.2 lacks it
      void qmp7.execute("query-audiodevs");
      void qmp7.execute("x-query-profile");
      // @ts-expect-error: 10.0 removed it
      void qmp10.execute("x-query-profile");
    };
    expectTypeOf<"query-audiodevs">().toExtend<keyof QmpCommands["10.0"]>();
    expectTypeOf<"query-audiodevs">().not.toExtend<keyof QmpCommands["7.2"]>();
    expectTypeOf<"query-audiodevs">().not.toExtend<QmpCommandName>();
    expectTypeOf<"query-status">().toExtend<QmpCommandName>();
  });

  test("arguments are checked: names, types, required members", () => {
    (qmp: QmpClient) => {
      void qmp.execute("qom-get", { path: "/machine", property: "type" });
      // @ts-expect-error: a required argument missing
      void qmp.execute("qom-get", { path: "/machine" });
      // @ts-expect-error: no arguments at all for a command that needs some
      void qmp.execute("qom-get");
      // @ts-expect-error: an argument name that does not exist
      void qmp.execute("qom-get", { path: "/machine", property: "type", depth: 1 });
      // @ts-expect-error: a wrong type
      void qmp.execute("qom-get", { path: 42, property: "type" });
      // @ts-expect-error: a command without arguments takes none
      void qmp.execute("query-status", { verbose: true });
      void qmp.execute("query-status", undefined, { timeoutMs: 1_000 });
      // device_add: named members typed, device properties free.
      void qmp.execute("device_add", { driver: "e1000", id: "nic0", netdev: "net0" });
      // @ts-expect-error: driver must be a string
      void qmp.execute("device_add", { driver: 1 });
      // A flat union: the members of the variant the tag selects.
      void qmp.execute("blockdev-add", { driver: "file", "node-name": "d0", filename: "/x" });
      // @ts-expect-error: `file` has no `size` member (null-co has)
      void qmp.execute("blockdev-add", { driver: "file", filename: "/x", size: 1 });
      void qmp.execute("migrate-set-capabilities", {
        // @ts-expect-error: an enum value that does not exist
        capabilities: [{ capability: "evnts", state: true }],
      });
    };
  });

  test("results are typed: a wrong use does not compile", () => {
    (qmp: QmpClient) => async () => {
      const status = await qmp.execute("query-status");
      expectTypeOf(status.running).toEqualTypeOf<boolean>();
      expectTypeOf(status.status).toEqualTypeOf<RunState>();
      // @ts-expect-error: a boolean is not a string
      status.running.toUpperCase();
      // @ts-expect-error: no such member
      void status.state;
      // @ts-expect-error: QEMU 10.0 has no `singlestep`: not in what both versions return
      void status.singlestep;
      if (status.status === "running") expectTypeOf(status.status).toEqualTypeOf<"running">();
      // @ts-expect-error: not a RunState
      if (status.status === "runing") return;
      const pci = await qmp.execute("query-pci");
      expectTypeOf(pci[0]!.devices[0]!.slot).toEqualTypeOf<number>();
      const text = await qmp.execute("human-monitor-command", { "command-line": "info status" });
      expectTypeOf(text).toEqualTypeOf<string>();
    };
    expectTypeOf<QmpCommandResult<"query-status", "7.2">>().toHaveProperty("singlestep");
    expectTypeOf<QmpCommandArguments<"migrate", "10.0">>().toHaveProperty("channels");
  });
});

describe("events", () => {
  test("event names are checked, and data is typed by name", () => {
    (qmp: QmpClient) => async () => {
      // @ts-expect-error: a typo
      void qmp.waitForEvent("DEVICE_DELETD");
      const deleted = await qmp.waitForEvent("DEVICE_DELETED", (event) => event.data.path !== "");
      expectTypeOf(deleted.data.device).toEqualTypeOf<string | undefined>();
      for await (const event of qmp.events(["MIGRATION", "STOP"])) {
        if (event.event === "MIGRATION") {
          expectTypeOf(event.data.status).toExtend<string>();
          // @ts-expect-error: not a MigrationStatus
          if (event.data.status === "done") break;
        } else expectTypeOf(event.event).toEqualTypeOf<"STOP">();
      }
      // @ts-expect-error: only QEMU 10.0 emits it
      void qmp.events("VFIO_MIGRATION");
    };
    (qmp10: QmpClient<"10.0">) => {
      void qmp10.events("VFIO_MIGRATION");
    };
    expectTypeOf<"VFIO_MIGRATION">().toExtend<keyof QmpEvents["10.0"]>();
    expectTypeOf<"VFIO_MIGRATION">().not.toExtend<QmpEventName>();
    expectTypeOf<QmpEvent<"STOP">["event"]>().toEqualTypeOf<"STOP">();
  });

  test("the helpers take the schema's types", () => {
    (qmp: QmpClient) => {
      void qmp.deviceAdd({ driver: "usb-kbd", id: "kbd", bus: "xhci.0" });
      // @ts-expect-error: deviceAdd needs an id (deviceDel finds the device by it)
      void qmp.deviceAdd({ driver: "usb-kbd" });
      void qmp.setMigrationCapabilities({ events: true, "auto-converge": false });
      // @ts-expect-error: no such capability
      void qmp.setMigrationCapabilities({ evnts: true });
      void qmp.setMigrationParameters({ "max-bandwidth": 1e9, "downtime-limit": 300 });
      // @ts-expect-error: a number, in bytes per second
      void qmp.setMigrationParameters({ "max-bandwidth": "1G" });
    };
    expectTypeOf<DeviceSpec>().toHaveProperty("id").toEqualTypeOf<string>();
  });
});
