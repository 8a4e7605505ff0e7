/**
 * The few QMP exchanges the launcher needs: greeting, `qmp_capabilities`, then
 * commands one at a time. (The real QMP client is @qemu-kvm/monitor's.)
 */
import { createConnection } from "node:net";
import { type WaitOptions, withDeadline } from "./deadline.js";
import { GuestBootError } from "./errors.js";

/**
 * Connects to QMP at `path`, negotiates, runs `commands` in order and resolves
 * with their `return` values. Once QEMU answered negotiation its setup is
 * complete (commands run in its main loop, which starts after every device and
 * chardev exists). For `quit`, QEMU hanging up counts as the answer.
 */
export function runQmpCommands(
  path: string,
  commands: readonly string[],
  options: WaitOptions = {},
): Promise<unknown[]> {
  return withDeadline(
    `QMP ${commands.join(", ") || "negotiation"} on ${path}`,
    options,
    10_000,
    (signal) => {
      return new Promise<unknown[]>((resolve, reject) => {
        const socket = createConnection(path);
        const replies: unknown[] = [];
        let buffer = "";
        let negotiated = false;
        let sent = -1; // index of the command in flight; -1: qmp_capabilities
        const done = (error?: Error) => {
          signal.removeEventListener("abort", onAbort);
          socket.destroy();
          if (error) reject(error);
          else resolve(replies);
        };
        const onAbort = () => done(signal.reason as Error);
        signal.addEventListener("abort", onAbort, { once: true });
        const next = () => {
          sent++;
          const command = commands[sent];
          if (command === undefined) done();
          else socket.write(`${JSON.stringify({ execute: command })}\n`);
        };
        socket.setEncoding("utf8");
        socket.on("data", (chunk: string) => {
          buffer += chunk;
          for (let newline = buffer.indexOf("\n"); newline >= 0; newline = buffer.indexOf("\n")) {
            const line = buffer.slice(0, newline).trim();
            buffer = buffer.slice(newline + 1);
            if (!line) continue;
            let message: Record<string, unknown>;
            try {
              message = JSON.parse(line) as Record<string, unknown>;
            } catch (error) {
              done(
                new GuestBootError(`QMP sent something that is not JSON: ${line}`, "", {
                  cause: error,
                }),
              );
              return;
            }
            if ("event" in message) continue;
            if ("QMP" in message) {
              socket.write('{"execute":"qmp_capabilities"}\n');
            } else if ("error" in message) {
              const what = sent < 0 ? "qmp_capabilities" : commands[sent];
              done(new GuestBootError(`QMP ${what} failed: ${line}`));
              return;
            } else if ("return" in message) {
              if (negotiated) replies.push(message.return);
              negotiated = true;
              next();
            }
          }
        });
        socket.once("close", () => {
          if (commands[sent] === "quit") done();
          else done(new GuestBootError(`QMP socket ${path} closed before its answers`));
        });
        socket.once("error", (error) => done(error));
      });
    },
  );
}
