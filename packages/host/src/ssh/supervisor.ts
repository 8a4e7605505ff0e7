import type { ClientChannel } from "ssh2";
import { HostSystemError } from "../errors/host-errors.js";
import { debug } from "../shared/observe.js";
import type { SshConnection } from "./connection.js";
import { SUPERVISOR_COMMAND } from "./remote-scripts.js";

/** The replies of the supervisor (see `SUPERVISOR`). */
export type SignalOutcome = "sent" | "no-process" | "refused";

const OUTCOMES: Record<string, SignalOutcome> = { "0": "sent", "1": "no-process" };

/**
 * The connection's supervisor process (see `SUPERVISOR` in remote-scripts.ts):
 * registers the process groups of running commands, signals them (and any pid),
 * and stops the registered ones when the connection goes away.
 */
export class Supervisor {
  #channel: ClientChannel | undefined;
  #opening: Promise<ClientChannel> | undefined;
  #queue: string[] = [];
  readonly #pending = new Map<
    number,
    { resolve: (outcome: SignalOutcome) => void; reject: (error: Error) => void }
  >();
  #nextId = 1;
  #received = "";

  constructor(readonly connection: SshConnection) {}

  #open(): Promise<ClientChannel> {
    this.#opening ??= this.connection
      .openSession<ClientChannel>(
        "supervisor",
        (callback) => this.connection.client.exec(SUPERVISOR_COMMAND, callback),
        { reserved: true },
      )
      .then((channel) => {
        this.#channel = channel;
        channel.setEncoding("utf8");
        channel.on("data", (text: string) => this.#onData(text));
        channel.on("error", (error: Error) => debug("ssh supervisor: %s", error.message));
        channel.stderr
          .setEncoding("utf8")
          .on("data", (text: string) => debug("ssh supervisor stderr: %s", text));
        channel.once("close", () => this.#onClose());
        for (const line of this.#queue.splice(0)) channel.write(line);
        return channel;
      });
    this.#opening.catch((error: unknown) => {
      debug("ssh %s: supervisor did not start: %s", this.connection.name, String(error));
      this.#opening = undefined;
      this.#queue = [];
      this.#failPending(error instanceof Error ? error : new Error(String(error)));
    });
    return this.#opening;
  }

  start(): void {
    void this.#open().catch(() => {});
  }

  #onData(text: string): void {
    this.#received += text;
    for (;;) {
      const end = this.#received.indexOf("\n");
      if (end < 0) return;
      const line = this.#received.slice(0, end);
      this.#received = this.#received.slice(end + 1);
      const [id, outcome] = line.split(" ");
      const pending = this.#pending.get(Number(id));
      if (!pending) continue;
      this.#pending.delete(Number(id));
      pending.resolve(OUTCOMES[outcome ?? ""] ?? "refused");
    }
  }

  #onClose(): void {
    this.#channel = undefined;
    this.#opening = undefined;
    this.#failPending(new Error("it exited"));
  }

  /** Rejects the signal requests waiting for a reply: connection lost, or `ERR_HOST_SYSTEM`. */
  #failPending(cause: Error): void {
    const error =
      this.connection.lostError ??
      new HostSystemError({
        operation: "kill",
        systemCode: "EIO",
        message: `the remote supervisor is not running: ${cause.message}`,
        host: this.connection.name,
        cause,
      });
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  #send(line: string): void {
    if (this.#channel?.writable) this.#channel.write(line);
    else {
      this.#queue.push(line);
      if (!this.connection.lostError) void this.#open().catch(() => {});
    }
  }

  add(pid: number, startTime: bigint | undefined): void {
    this.#send(`add ${pid} ${startTime ?? "-"}\n`);
  }

  remove(pid: number): void {
    this.#send(`del ${pid}\n`);
  }

  /** `signal` without "SIG"; `group`: the process group `pid` leads. */
  signal(
    pid: number,
    signal: string,
    startTime: bigint | undefined,
    group: boolean,
  ): Promise<SignalOutcome> {
    const id = this.#nextId++;
    const outcome = new Promise<SignalOutcome>((resolve, reject) =>
      this.#pending.set(id, { resolve, reject }),
    );
    this.#send(`sig ${id} ${signal} ${pid} ${startTime ?? "-"} ${group ? 1 : 0}\n`);
    return outcome;
  }

  /** EOF: the supervisor stops whatever is still registered, then exits. */
  end(): void {
    this.#channel?.end();
  }
}
