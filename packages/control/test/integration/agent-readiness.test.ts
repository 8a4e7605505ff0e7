import { once } from "node:events";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { describe, expect } from "vitest";
import { connectGuestAgent } from "../../src/index.js";
import { BOOT_TIMEOUT_MS, FIRST_TEST_TIMEOUT_MS, test, testGuest } from "../helpers/guests.js";
import { openQmpEvents } from "../helpers/qmp-events.js";

/** The agent port's device id: QEMU sends VSERPORT_CHANGE only for a port that has one. */
const PORT_ID = "qga-port";

/** Counts the guest-sync-delimited requests written to `socket`. */
function countSyncs(socket: Socket): () => number {
  let count = 0;
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  socket.write = ((chunk: unknown, ...rest: unknown[]) => {
    count += String(chunk).split('"guest-sync-delimited"').length - 1;
    return write(chunk, ...rest);
  }) as Socket["write"];
  return () => count;
}

describe("guest agent readiness (real guest, qemu-ga 7.2)", {
  timeout: FIRST_TEST_TIMEOUT_MS,
}, () => {
  test("connected after QEMU's VSERPORT_CHANGE (the guest opened the port): the first sync is answered, no resend", async ({
    launchQemu,
    tempDir,
    annotate,
  }) => {
    const guest = await testGuest();
    const agentPath = join(tempDir.path, "qga.sock");
    const qemu = await launchQemu({
      defaults: false,
      paused: true, // nothing can happen before we listen for the event
      timeoutMs: BOOT_TIMEOUT_MS,
      args: [
        ...guest.qemuArgs({
          serial: { type: "unix", path: join(tempDir.path, "serial.sock"), wait: false },
        }),
        "-chardev",
        `socket,id=qga0,path=${agentPath},server=on,wait=off`,
        "-device",
        "virtio-serial-pci",
        "-device",
        `virtserialport,chardev=qga0,name=${guest.guestAgentPortName},id=${PORT_ID}`,
      ],
    });
    const qmp = await openQmpEvents(qemu.qmpPath);
    try {
      qmp.send("cont");
      const opened = await qmp.waitFor(
        ({ event, data }) =>
          event === "VSERPORT_CHANGE" && data?.id === PORT_ID && data.open === true,
        BOOT_TIMEOUT_MS,
      );
      const socket = createConnection(agentPath);
      await once(socket, "connect");
      const syncs = countSyncs(socket);
      // The default resend interval: a resend would cost 5 s, and show in the count.
      const agent = await connectGuestAgent(socket, { timeoutMs: 60_000 });
      try {
        await agent.ready();
        const elapsedMs = performance.now() - opened.receivedAt;
        await annotate(`port open → ready(): ${elapsedMs.toFixed(1)} ms, ${syncs()} sync`);
        expect(syncs()).toBe(1);
      } finally {
        agent.destroy();
      }
    } finally {
      qmp.close();
    }
  });
});
