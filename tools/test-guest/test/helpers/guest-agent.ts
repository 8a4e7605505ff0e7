/**
 * Just enough of the guest agent protocol for these tests: flush with 0xFF,
 * `guest-sync-delimited`, then one command (the real client is @qemu-kvm/control's).
 */
import { createConnection } from "node:net";

export interface AgentRequestOptions {
  /** Deadline of the whole exchange, waiting for the agent to start included. */
  timeoutMs?: number;
  /** How long one `guest-sync-delimited` waits before it is sent again. */
  attemptMs?: number;
  /** The command has no reply on success (guest-shutdown): resolve once it is sent. */
  noReply?: boolean;
}

/** Connects to the agent socket, re-syncs until the agent answers, then pings. */
export function guestPing(path: string, options: AgentRequestOptions = {}): Promise<unknown> {
  return guestAgentRequest(path, "guest-ping", options);
}

/**
 * Connects to the agent socket, writes 0xFF + `guest-sync-delimited` until the
 * agent answers with the same id (it may not be running yet), then runs `command`.
 */
export async function guestAgentRequest(
  path: string,
  command: string,
  { timeoutMs = 60_000, attemptMs = 2_000, noReply = false }: AgentRequestOptions = {},
): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  const socket = createConnection(path);
  let received = Buffer.alloc(0);
  let wake: () => void = () => {};
  socket.on("data", (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    wake();
  });
  const closed = new Promise<never>((_, reject) => {
    socket.once("close", () => reject(new Error(`guest agent socket ${path} closed`)));
    socket.once("error", reject);
  });
  closed.catch(() => {});
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      closed.catch(reject);
    });
    // Resolves with the first JSON line that `accept` takes, or undefined after `ms`.
    const readReply = (accept: (message: Record<string, unknown>) => boolean, ms: number) =>
      new Promise<Record<string, unknown> | undefined>((resolve, reject) => {
        const timer = setTimeout(() => done(undefined), ms);
        const done = (value: Record<string, unknown> | undefined) => {
          clearTimeout(timer);
          wake = () => {};
          resolve(value);
        };
        closed.catch((error) => {
          clearTimeout(timer);
          reject(error);
        });
        const scan = () => {
          for (;;) {
            // After a sync, the agent's reply starts with 0xFF: drop what precedes it.
            const marker = received.indexOf(0xff);
            if (marker >= 0) received = received.subarray(marker + 1);
            const newline = received.indexOf(0x0a);
            if (newline < 0) return;
            const line = received.subarray(0, newline).toString("utf8").trim();
            received = received.subarray(newline + 1);
            if (!line) continue;
            try {
              const message = JSON.parse(line) as Record<string, unknown>;
              if (accept(message)) {
                done(message);
                return;
              }
            } catch {
              // a partial line from before a flush: skip it
            }
          }
        };
        wake = scan;
        scan();
      });
    for (let id = 1; ; id++) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`guest agent on ${path}: no answer within ${timeoutMs} ms`);
      const sync = `{"execute":"guest-sync-delimited","arguments":{"id":${id}}}\n`;
      socket.write(Buffer.concat([Buffer.from([0xff]), Buffer.from(sync)]));
      const reply = await readReply((m) => m.return === id, Math.min(attemptMs, left));
      if (reply) break;
    }
    socket.write(`${JSON.stringify({ execute: command })}\n`);
    if (noReply) {
      await new Promise<void>((resolve) => socket.end(resolve));
      return undefined;
    }
    const reply = await readReply(
      (m) => "return" in m || "error" in m,
      Math.max(1, deadline - Date.now()),
    );
    if (!reply) throw new Error(`${command}: no answer`);
    if ("error" in reply) throw new Error(`${command} failed: ${JSON.stringify(reply.error)}`);
    return reply.return;
  } finally {
    socket.destroy();
  }
}
