import { setMaxListeners } from "node:events";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ensureGuest } from "@qemu-kvm/test-guest";
import { makeTempDir } from "@qemu-kvm/testkit";
import {
  type CreateVmOptions,
  createLocalHost,
  openPool,
  type ResourcePool,
  type StopResult,
  type Vm,
} from "qemu-kvm";
import { type BenchCase, type Benchmark, timeMs } from "../harness.js";
import type { VmTemplate } from "./vm/argv.js";
import {
  type BareVm,
  BareVms,
  bareBootToShell,
  bareStartPaused,
  type Login,
} from "./vm/bare-vm.js";
import { FacadeVms, templateOf, throwFirstFailure } from "./vm/facade-vms.js";
import { type Lap, Stopwatch, slowestLaps, stopLaps, timelineLaps } from "./vm/laps.js";
import { removeLeftoversSync } from "./vm/leftovers.js";
import { exposeGc, perVmKiB, settledBytes } from "./vm/memory.js";
import { type Notes, newNotes, printNotes } from "./vm/notes.js";

/** How many VMs `vm.paused-16` and `vm.memory-per-vm` start at once. */
const AT_ONCE = 16;
const SINGLE = "vm-single";
const MANY = Array.from({ length: AT_ONCE }, (_, i) => `vm-p${String(i).padStart(2, "0")}`);
/** Bound every wait of a baseline (the facade's own deadlines bound its waits). */
const BOOT_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 60_000;
/** Abort listeners one signal may have without Node warning: AT_ONCE calls at once each add a few. */
const MAX_LISTENERS = 8 * AT_ONCE;

function bounded(signal: AbortSignal, timeoutMs: number): AbortSignal {
  const combined = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
  setMaxListeners(MAX_LISTENERS, combined);
  return combined;
}

interface Context {
  readonly facade: FacadeVms;
  readonly bare: BareVms;
  readonly pool: ResourcePool;
  readonly poolStateDir: string;
  readonly login: Login;
  readonly single: VmTemplate;
  readonly many: readonly VmTemplate[];
  readonly gc: () => void;
  readonly notes: Notes;
}

/** The single VM of the first two cases: its own pool (the default), no network wait. */
function singleOptions(context: Context): Omit<CreateVmOptions, "spec" | "host"> {
  return { network: false, poolOptions: { stateDir: context.poolStateDir } };
}

function startToLogin(context: Context): BenchCase {
  const { facade, bare, notes } = context;
  return {
    name: "vm.start-to-login",
    unit: "ms",
    runs: 7,
    subject: {
      name: "createVm + start(), serial-unix, network: false",
      async run(signal) {
        let vm: Vm | undefined;
        const ms = await timeMs(async () => {
          vm = facade.create(SINGLE, singleOptions(context));
          await vm.start({ signal });
        });
        notes.facadeStart.push(timelineLaps(vm!.timeline, ms));
        await facade.stop(vm!, { guestTimeoutMs: 0 });
        return ms;
      },
    },
    baseline: {
      name: "same argv spawned, login on a bare socket",
      async run(signal) {
        const vm = await bare.prepare(context.single);
        try {
          const watch = new Stopwatch();
          const ms = await timeMs(() =>
            bareBootToShell(bare, vm, context.login, bounded(signal, BOOT_TIMEOUT_MS), watch),
          );
          notes.bareStart.push(watch.laps);
          return ms;
        } finally {
          await bare.stop(vm);
        }
      },
    },
  };
}

function stopCooperative(context: Context): BenchCase {
  const { facade, bare, notes } = context;
  return {
    name: "vm.stop-cooperative",
    unit: "ms",
    runs: 7,
    subject: {
      name: "vm.stop() of a logged-in guest (untimed boot)",
      async run(signal) {
        const vm = facade.create(SINGLE, singleOptions(context));
        await vm.start({ signal });
        let result: StopResult | undefined;
        const ms = await timeMs(async () => {
          result = await facade.stop(vm, { signal });
        });
        if (result!.stage !== "guest")
          throw new Error(`vm.stop() ended at stage ${result!.stage}, not the guest's poweroff`);
        notes.facadeStop.push(stopLaps(result!, ms));
        return ms;
      },
    },
    baseline: {
      name: "poweroff typed on the bare console, until QEMU closes it",
      async run(signal) {
        const vm = await bare.prepare(context.single);
        try {
          const serial = await bareBootToShell(
            bare,
            vm,
            context.login,
            bounded(signal, BOOT_TIMEOUT_MS),
          );
          const ms = await timeMs(async () => {
            serial.write("poweroff\n");
            await serial.waitForClose(bounded(signal, STOP_TIMEOUT_MS));
          });
          notes.bareStop.push([{ label: "poweroff until the console closed", ms }]);
          return ms;
        } finally {
          await bare.stop(vm);
        }
      },
    },
  };
}

/** The facade's 16, started paused at once on the shared pool (the laps of the last one noted). */
async function facadeMany(
  context: Context,
  signal: AbortSignal,
  laps?: Lap[][],
): Promise<{ vms: Vm[]; ms: number }> {
  let started: { vms: Vm[]; doneMs: number[] } | undefined;
  const ms = await timeMs(async () => {
    started = await context.facade.startPaused(MANY, { pool: context.pool }, signal);
  });
  const { vms, doneMs } = started!;
  laps?.push(slowestLaps(vms.map((vm, i) => timelineLaps(vm.timeline, doneMs[i]!))));
  return { vms, ms };
}

/**
 * The bare 16: each prepared (untimed), then `start` (the part to time: spawned
 * at once, each QMP answering; the laps of the last one noted), then stopped.
 */
async function withBareMany<T>(
  context: Context,
  signal: AbortSignal,
  laps: Lap[][] | undefined,
  use: (start: () => Promise<void>) => Promise<T>,
): Promise<T> {
  const vms: BareVm[] = [];
  try {
    for (const template of context.many) vms.push(await context.bare.prepare(template));
    const start = async () => {
      const watches = vms.map(() => new Stopwatch());
      const combined = bounded(signal, BOOT_TIMEOUT_MS);
      throwFirstFailure(
        await Promise.allSettled(
          vms.map((vm, i) => bareStartPaused(context.bare, vm, combined, watches[i])),
        ),
      );
      laps?.push(slowestLaps(watches.map((watch) => watch.laps)));
    };
    return await use(start);
  } finally {
    throwFirstFailure(await Promise.allSettled(vms.map((vm) => context.bare.stop(vm))));
  }
}

function pausedMany(context: Context): BenchCase {
  const { facade, notes } = context;
  return {
    name: `vm.paused-${AT_ONCE}`,
    unit: "ms",
    runs: 7,
    subject: {
      name: `${AT_ONCE} × createVm + quickStart({ paused: true }) at once, one pool`,
      async run(signal) {
        const { vms, ms } = await facadeMany(context, signal, notes.facadeMany);
        try {
          const unpaused = vms.find((vm) => vm.state !== "paused");
          if (unpaused) throw new Error(`${unpaused.name} is ${unpaused.state}, not paused`);
        } finally {
          await facade.stopAll(vms);
        }
        return ms;
      },
    },
    baseline: {
      name: `the same ${AT_ONCE} argv spawned bare at once, each QMP answering`,
      run: (signal) => withBareMany(context, signal, notes.bareMany, (start) => timeMs(start)),
    },
  };
}

/** Controller memory per VM while `hold` holds them, in KiB (RSS growth noted aside). */
async function memoryPerVm(
  context: Context,
  rss: number[],
  hold: (measure: () => Promise<number>) => Promise<number>,
): Promise<number> {
  const before = await settledBytes(context.gc);
  const rssBefore = process.memoryUsage().rss;
  return hold(async () => {
    const after = await settledBytes(context.gc);
    rss.push(perVmKiB(rssBefore, process.memoryUsage().rss, AT_ONCE));
    return perVmKiB(before, after, AT_ONCE);
  });
}

function memoryCase(context: Context): BenchCase {
  const { facade, notes } = context;
  return {
    name: "vm.memory-per-vm",
    unit: "KiB",
    better: "lower",
    runs: 5,
    subject: {
      name: `facade: ${AT_ONCE} paused VMs held (JS heap + external, after GC)`,
      run: (signal) =>
        memoryPerVm(context, notes.facadeRssKiB, async (measure) => {
          const { vms } = await facadeMany(context, signal);
          try {
            return await measure();
          } finally {
            await facade.stopAll(vms);
          }
        }),
    },
    baseline: {
      name: `bare: the ${AT_ONCE} QMP sockets held`,
      run: (signal) =>
        memoryPerVm(context, notes.bareRssKiB, (measure) =>
          withBareMany(context, signal, undefined, async (start) => {
            await start();
            return measure();
          }),
        ),
    },
  };
}

/**
 * The facade against QEMU's own command line driven bare: start to a root shell,
 * the guest's cooperative stop, 16 VMs started paused at once, and the
 * controller's memory per VM. See the README for what each side does.
 */
const benchmark: Benchmark = {
  name: "vm",
  description: `the facade (createVm, start, stop) vs its own argv spawned bare: start to a root shell, stop by poweroff, ${AT_ONCE} VMs paused at once, controller memory per VM`,
  async setup(signal) {
    // AT_ONCE starts at once each listen on the run's signal.
    setMaxListeners(MAX_LISTENERS, signal);
    const guest = await ensureGuest({
      signal,
      onProgress: ({ message }) => console.log(`  guest: ${message}`),
    });
    const dir = await makeTempDir("qk-bench-vm-");
    // If the process exits before the teardown is done, nothing started is left running.
    const atExit = () => removeLeftoversSync(dir.path);
    process.on("exit", atExit);
    const host = createLocalHost();
    const login = { user: guest.credentials.user, password: guest.credentials.password };
    const poolStateDir = join(dir.path, "pool");
    const facade = new FacadeVms(guest, { host, login, runtimeBase: join(dir.path, "rt") });
    const bare = new BareVms(host, join(dir.path, "bare"));
    const notes = newNotes();
    let pool: ResourcePool | undefined;
    const teardown = async () => {
      printNotes(notes, AT_ONCE);
      const results = await Promise.allSettled([facade.stopAll(), bare.stopAll()]);
      await pool?.close().catch(() => pool?.destroy());
      await host.close();
      await dir.remove();
      process.off("exit", atExit);
      throwFirstFailure(results);
    };
    try {
      await mkdir(join(dir.path, "bare"));
      pool = await openPool(host, { stateDir: poolStateDir, signal });
      const shared = pool;
      // The argv the baselines run: the facade's own, from a paused start of each VM.
      const prime = async (
        names: readonly string[],
        extra: Omit<CreateVmOptions, "spec" | "host">,
      ) => {
        const { vms } = await facade.startPaused(names, extra, signal);
        try {
          return vms.map(templateOf);
        } finally {
          await facade.stopAll(vms);
        }
      };
      const [single] = await prime([SINGLE], { poolOptions: { stateDir: poolStateDir } });
      const many = await prime(MANY, { pool: shared });
      const context: Context = {
        facade,
        bare,
        pool: shared,
        poolStateDir,
        login,
        single: single!,
        many,
        gc: exposeGc(),
        notes,
      };
      return {
        cases: [
          startToLogin(context),
          stopCooperative(context),
          pausedMany(context),
          memoryCase(context),
        ],
        teardown,
      };
    } catch (error) {
      await teardown().catch(() => {});
      throw error;
    }
  },
};

export default benchmark;
