/**
 * `qemu-kvm console NAME`: the VM's serial console, interactive. The terminal
 * goes raw (every key, Ctrl-C included, goes to the guest) until the detach
 * key, Ctrl-], which restores it. The session is the user's: nothing logs in
 * or out. On a pipe, stdin's end detaches too.
 */
import type { Duplex } from "node:stream";
import { TelnetCodec } from "@qemu-kvm/control";
import { VmStateError } from "../errors.js";
import { EXIT } from "./exit-codes.js";
import { findRunningVm } from "./find-vm.js";
import type { ConsoleInvocation } from "./invocation.js";
import type { CliIo } from "./io.js";
import { withHost } from "./target.js";

/** Ctrl-] (as telnet's escape). */
export const DETACH_KEY = 0x1d;

const CONNECT_TIMEOUT_MS = 10_000;

export type Ending = "detached" | "closed" | "interrupted";

/** Copies bytes both ways until the detach key, stdin's end, the console's end or an interrupt. */
export function relay(stream: Duplex, telnet: boolean, io: CliIo): Promise<Ending> {
  const codec = telnet ? new TelnetCodec() : undefined;
  const { stdin, stdout } = io;
  const raw = stdin.isTTY === true && typeof stdin.setRawMode === "function";
  return new Promise((resolve) => {
    let ended = false;
    const onOutput = (chunk: Buffer) => {
      let data = chunk;
      if (codec) {
        const decoded = codec.decode(chunk);
        if (decoded.reply.length > 0) stream.write(decoded.reply);
        data = decoded.data;
      }
      // Bounded: the console waits while the terminal is behind.
      if (data.length > 0 && !stdout.write(data)) {
        stream.pause();
        stdout.once("drain", () => stream.resume());
      }
    };
    const onInput = (chunk: Buffer) => {
      const at = chunk.indexOf(DETACH_KEY);
      const data = at === -1 ? chunk : chunk.subarray(0, at);
      if (data.length > 0 && !stream.write(codec ? codec.encode(data) : data)) {
        stdin.pause();
        stream.once("drain", () => stdin.resume());
      }
      if (at !== -1) end("detached");
    };
    const onEnd = () => end("detached");
    const onClose = () => end("closed");
    const onAbort = () => end("interrupted");
    function end(how: Ending): void {
      if (ended) return;
      ended = true;
      stdin.off("data", onInput);
      stdin.off("end", onEnd);
      stream.off("data", onOutput);
      stream.off("close", onClose);
      io.signal.removeEventListener("abort", onAbort);
      if (raw) stdin.setRawMode?.(false);
      stdin.pause();
      stream.destroy();
      resolve(how);
    }
    stream.on("data", onOutput);
    stream.on("close", onClose);
    stream.on("error", () => {}); // its close follows
    io.signal.addEventListener("abort", onAbort, { once: true });
    stdin.on("data", onInput);
    stdin.on("end", onEnd);
    if (raw) stdin.setRawMode?.(true);
    stdin.resume();
  });
}

export async function runConsole(invocation: ConsoleInvocation, io: CliIo): Promise<number> {
  const { name } = invocation;
  return withHost(invocation.target, io.env, io.signal, async (host) => {
    const connect = { signal: io.signal, timeoutMs: CONNECT_TIMEOUT_MS };
    const record = await findRunningVm(host, invocation.target.runtimeBase, name, connect);
    const endpoint = record.console;
    if (!endpoint)
      throw new VmStateError({
        vm: name,
        state: "running",
        operation: "console",
        expected: "a VM with a serial console",
      });
    const stream =
      endpoint.type === "unix"
        ? await host.connectUnix(endpoint.path, connect)
        : await host.connectTcp(endpoint.host, endpoint.port, connect);
    const terminal = io.stderr.isTTY === true;
    if (terminal) io.stderr.write(`connected to ${name}'s console; Ctrl-] detaches\r\n`);
    const ending = await relay(stream, endpoint.type === "telnet", io);
    // Nothing reads stdin after the console; an open pipe would keep the process alive.
    io.stdin.destroy();
    if (ending === "closed")
      io.stderr.write(
        `\r\nqemu-kvm: ${name}'s console closed (the VM stopped, or QEMU let another client in)\n`,
      );
    else if (terminal && ending === "detached")
      io.stderr.write(`\r\ndetached from ${name}'s console\n`);
    return ending === "interrupted" ? EXIT.interrupted : EXIT.ok;
  });
}
