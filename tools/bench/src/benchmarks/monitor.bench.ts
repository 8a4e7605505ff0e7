import { once } from "node:events";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { connectQmp, type QmpClient } from "@qemu-kvm/monitor";
import { makeTempDir, startQemu } from "@qemu-kvm/testkit";
import { type Benchmark, quantile, type Trial } from "../harness.js";

/** Round trips per sample of the latency cases: one sample is a percentile over these. */
const ROUND_TRIPS = 1_000;
const PIPELINED = 2_000;

/**
 * The baseline: a bare socket on QEMU's second QMP monitor. It writes the same
 * JSON lines and reads replies by splitting on newlines and JSON.parse, with
 * none of the client's bookkeeping (no id map, timers, events or validation).
 */
class BareQmp {
  readonly #socket: Socket;
  #buffer = "";
  #nextId = 1;
  #onReply: ((reply: { id?: number }) => void) | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.#buffer += chunk;
      let newline = this.#buffer.indexOf("\n");
      while (newline !== -1) {
        const message = JSON.parse(this.#buffer.slice(0, newline)) as { id?: number };
        this.#buffer = this.#buffer.slice(newline + 1);
        this.#onReply?.(message);
        newline = this.#buffer.indexOf("\n");
      }
    });
  }

  static async connect(path: string): Promise<BareQmp> {
    const socket = createConnection(path);
    await once(socket, "connect");
    const bare = new BareQmp(socket);
    await bare.send(1, () => {}, "qmp_capabilities"); // the greeting has no id: skipped
    return bare;
  }

  /** Writes `count` commands in one write; resolves when all replies are in. */
  send(
    count: number,
    onEachReply: (reply: { id?: number }) => void,
    command = "query-status",
  ): Promise<void> {
    return new Promise((resolve) => {
      let pending = count;
      let lines = "";
      for (let i = 0; i < count; i++) lines += `{"execute":"${command}","id":${this.#nextId++}}\n`;
      this.#onReply = (reply) => {
        if (reply.id === undefined) return; // greeting or event
        onEachReply(reply);
        if (--pending === 0) resolve();
      };
      this.#socket.write(lines);
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}

async function latencies(roundTrip: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const start = process.hrtime.bigint();
    await roundTrip();
    samples.push(Number(process.hrtime.bigint() - start) / 1e3);
  }
  return samples;
}

function latencyTrials(
  qmp: QmpClient,
  bare: BareQmp,
  q: number,
): { subject: Trial; baseline: Trial } {
  return {
    subject: {
      name: "QmpClient.execute('query-status')",
      run: async () => quantile(await latencies(() => qmp.execute("query-status")), q),
    },
    baseline: {
      name: "bare socket, same JSON",
      run: async () => quantile(await latencies(() => bare.send(1, () => {})), q),
    },
  };
}

/**
 * The typed API against the untyped call: `execute` is checked at compile
 * time only, so the two must cost the same (they are one function at run time).
 */
function typedTrials(qmp: QmpClient, q: number): { subject: Trial; baseline: Trial } {
  return {
    subject: {
      name: "typed QmpClient.execute('query-status')",
      run: async () => quantile(await latencies(() => qmp.execute("query-status")), q),
    },
    baseline: {
      name: "untyped QmpClient.executeUnchecked('query-status')",
      run: async () => quantile(await latencies(() => qmp.executeUnchecked("query-status")), q),
    },
  };
}

async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const benchmark: Benchmark = {
  name: "monitor",
  description: `QMP round trip (percentiles over ${ROUND_TRIPS} query-status per sample) and ${PIPELINED} pipelined commands, vs a bare socket on the same QEMU; the typed execute vs the untyped executeUnchecked`,
  async setup() {
    const dir = await makeTempDir("qk-bench-");
    const barePath = join(dir.path, "bare.sock");
    const qemu = await startQemu({ args: ["-qmp", `unix:${barePath},server=on,wait=off`] });
    try {
      const qmp = await connectQmp(createConnection(qemu.qmpPath));
      const bare = await BareQmp.connect(barePath);
      return {
        cases: [
          {
            name: "monitor.query-status.p50",
            unit: "µs",
            runs: 9,
            warmup: 1,
            ...latencyTrials(qmp, bare, 0.5),
          },
          {
            name: "monitor.query-status.p99",
            unit: "µs",
            runs: 9,
            warmup: 1,
            ...latencyTrials(qmp, bare, 0.99),
          },
          {
            name: "monitor.typed-query-status.p50",
            unit: "µs",
            runs: 15,
            warmup: 1,
            ...typedTrials(qmp, 0.5),
          },
          {
            name: `monitor.pipelined-${PIPELINED}`,
            unit: "ms",
            runs: 9,
            warmup: 1,
            subject: {
              name: `${PIPELINED} × QmpClient.execute at once`,
              run: () =>
                timeMs(() =>
                  Promise.all(Array.from({ length: PIPELINED }, () => qmp.execute("query-status"))),
                ),
            },
            baseline: {
              name: `bare socket, ${PIPELINED} lines in one write`,
              run: () => timeMs(() => bare.send(PIPELINED, () => {})),
            },
          },
        ],
        async teardown() {
          bare.close();
          qmp.destroy();
          await qemu.stop();
          await dir.remove();
        },
      };
    } catch (error) {
      await qemu.stop();
      await dir.remove();
      throw error;
    }
  },
};

export default benchmark;
