import { once } from "node:events";
import { createConnection } from "node:net";

/** A QMP event as QEMU sends it. */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  /** `performance.now()` when it was read. */
  receivedAt: number;
}

/**
 * A minimal QMP client for tests of this package (which must not depend on
 * `@qemu-kvm/monitor`): negotiates, sends commands without waiting for their
 * replies, and records events as they come, so that a wait armed late still
 * sees an event that came first.
 */
export interface QmpEvents {
  send(command: string): void;
  /** Resolves with the first event (already received or to come) that `accepts`; rejects after `timeoutMs`. */
  waitFor(accepts: (event: QmpEvent) => boolean, timeoutMs: number): Promise<QmpEvent>;
  close(): void;
}

export async function openQmpEvents(path: string): Promise<QmpEvents> {
  const socket = createConnection(path);
  await once(socket, "connect");
  socket.setEncoding("utf8");
  const events: QmpEvent[] = [];
  const waiters = new Set<() => void>();
  let pending = "";
  let negotiated!: () => void;
  const ready = new Promise<void>((resolve) => {
    negotiated = resolve;
  });
  socket.on("data", (chunk: string) => {
    pending += chunk;
    for (let end = pending.indexOf("\n"); end >= 0; end = pending.indexOf("\n")) {
      const message = JSON.parse(pending.slice(0, end)) as Record<string, unknown>;
      pending = pending.slice(end + 1);
      if ("QMP" in message) socket.write('{"execute":"qmp_capabilities"}\n');
      else if ("return" in message) negotiated();
      else if (typeof message.event === "string") {
        const data = message.data as Record<string, unknown> | undefined;
        events.push({ event: message.event, data, receivedAt: performance.now() });
        for (const wake of [...waiters]) wake();
      }
    }
  });
  socket.on("error", () => {});
  await ready;
  return {
    send(command) {
      socket.write(`${JSON.stringify({ execute: command })}\n`);
    },
    waitFor(accepts, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(accepts);
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no such QMP event within ${timeoutMs} ms (saw ${events.map((e) => e.event)})`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close() {
      socket.destroy();
    },
  };
}
