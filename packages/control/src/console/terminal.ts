import type { Duplex } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { type CloseInfo, debugLog, preview, StreamSession } from "@qemu-kvm/core";
import { ConsoleClosedError } from "./errors.js";
import { ExpectBuffer } from "./expect-buffer.js";
import { OutputWatchers } from "./output-watch.js";
import { TelnetCodec } from "./telnet.js";
import { Transcript } from "./transcript.js";

const debug = debugLog("control");

export interface TerminalSettings {
  readonly telnet: boolean;
  readonly bufferSize: number;
  readonly transcriptSize: number;
  /** Masked in the transcript, errors and debug output. */
  readonly password: string | undefined;
}

/**
 * The console's end of the stream: bytes in (telnet framing removed, UTF-8
 * decoded, recorded, into the expect buffer) and text out (recorded, telnet
 * escaped, flushed). Its lifecycle is a `StreamSession`: when the stream ends
 * however it ends, whoever waits on the buffer gets `ERR_CONSOLE_CLOSED`.
 */
export class ConsoleTerminal {
  readonly session: StreamSession;
  readonly buffer: ExpectBuffer;
  /** Waits for text without consuming it (`waitForOutput`). */
  readonly watchers: OutputWatchers;
  readonly transcript: Transcript;
  readonly #telnet: TelnetCodec | undefined;
  readonly #decoder = new StringDecoder("utf8");
  /** When console output last arrived (`performance.now()`), for nudging. */
  lastInputAt = performance.now();

  constructor(stream: Duplex, settings: TerminalSettings, onEnded: (info: CloseInfo) => void) {
    this.#telnet = settings.telnet ? new TelnetCodec() : undefined;
    this.buffer = new ExpectBuffer(settings.bufferSize);
    this.watchers = new OutputWatchers(settings.bufferSize);
    this.transcript = new Transcript(settings.transcriptSize);
    if (settings.password) this.transcript.addSecret(settings.password);
    this.session = new StreamSession(
      stream,
      {
        data: (chunk) => this.#onData(chunk),
        ended: (info) => {
          this.#ended(info);
          onEnded(info);
        },
      },
      { label: "console", debug },
    );
  }

  get closeInfo(): CloseInfo | undefined {
    return this.session.closeInfo;
  }

  /** A note in the transcript, e.g. `interrupting`. */
  note(text: string): void {
    this.transcript.note(text);
  }

  /** Writes `text` and resolves once it is flushed to the stream; `secret`: recorded as `********`. */
  write(text: string | Uint8Array, options: { secret?: boolean } = {}): Promise<void> {
    const session = this.session;
    if (session.isClosed || session.stream.destroyed)
      return Promise.reject(
        new ConsoleClosedError({ operation: "write", cause: session.closeInfo?.error }),
      );
    const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : Buffer.from(text);
    this.transcript.sent(typeof text === "string" ? text : bytes.toString("latin1"), options);
    if (debug.enabled)
      debug(
        "console -> %s",
        options.secret ? '"********"' : preview(this.transcript.mask(bytes.toString("utf8"))),
      );
    const wire = this.#telnet ? this.#telnet.encode(bytes) : bytes;
    return new Promise((resolve, reject) => {
      session.stream.write(wire, (error) => {
        if (error) reject(new ConsoleClosedError({ operation: "write", cause: error }));
        else resolve();
      });
    });
  }

  #onData(chunk: Buffer): void {
    let bytes = chunk;
    if (this.#telnet) {
      const { data, reply } = this.#telnet.decode(bytes);
      if (reply.length > 0) {
        debug("console: telnet negotiation reply %s", reply.toString("hex"));
        this.session.write(reply);
      }
      bytes = data;
    }
    const text = this.#decoder.write(bytes);
    if (text.length === 0) return;
    this.lastInputAt = performance.now();
    // What may be the start of the password (an echo arriving a byte at a time) is held back.
    const settled = this.transcript.received(text);
    if (debug.enabled && settled.length > 0) debug("console <- %s", preview(settled));
    this.buffer.push(text);
    this.watchers.push(text);
  }

  #ended(info: CloseInfo): void {
    const { by, error } = info;
    this.transcript.note(`closed by ${by}${error ? `: ${error.message}` : ""}`);
    const rest = this.#decoder.end();
    if (rest) {
      this.buffer.push(rest);
      this.watchers.push(rest);
    }
    this.buffer.end(error);
    this.watchers.end(error);
  }
}
