/**
 * Telnet framing (RFC 854) for a client of QEMU's `telnet=on` socket chardev.
 *
 * QEMU's server opens with `IAC WILL ECHO, IAC WILL SGA, IAC WILL BINARY,
 * IAC DO BINARY` and then sends the guest's bytes. On its input side it removes
 * `IAC x y` sequences and turns `IAC IAC` into one 0xFF. So the client must:
 * answer the negotiation (accept the server's echo, suppress-go-ahead and binary;
 * go binary itself, so that a bare `\n` stays a bare `\n`), strip every IAC
 * sequence from what it reads, even one split across chunks, and double 0xFF in
 * what it writes.
 *
 * QEMU does not double 0xFF in the guest's output, so a lone 0xFF byte printed
 * by the guest is read as the start of a command. Text consoles never print
 * 0xFF (it is not valid UTF-8); the console's `run()` carries output in base64.
 */

export const IAC = 0xff;
export const DONT = 0xfe;
export const DO = 0xfd;
export const WONT = 0xfc;
export const WILL = 0xfb;
export const SB = 0xfa;
export const SE = 0xf0;

export const OPTION_BINARY = 0x00;
export const OPTION_ECHO = 0x01;
export const OPTION_SGA = 0x03;

/** Options the server may enable on its side (we answer DO). */
const SERVER_OPTIONS = new Set([OPTION_BINARY, OPTION_ECHO, OPTION_SGA]);
/** Options we enable on our side when asked (we answer WILL). */
const CLIENT_OPTIONS = new Set([OPTION_BINARY, OPTION_SGA]);

const State = {
  Data: 0,
  Iac: 1,
  Option: 2,
  Subnegotiation: 3,
  SubnegotiationIac: 4,
} as const;
type State = (typeof State)[keyof typeof State];

export interface TelnetDecoded {
  /** The data bytes, IAC sequences removed. */
  data: Buffer;
  /** Negotiation answers to write back to the server (empty if none). */
  reply: Buffer;
}

/** Stateful: one per connection. */
export class TelnetCodec {
  #state: State = State.Data;
  #verb = 0;
  /** Per option: whether the server's side is on (after its WILL and our DO). */
  readonly #serverOn = new Set<number>();
  /** Per option: whether our side is on (after its DO and our WILL). */
  readonly #clientOn = new Set<number>();
  /** Options refused once: not refused again (no negotiation loops). */
  readonly #refusedServer = new Set<number>();
  readonly #refusedClient = new Set<number>();

  /** True once both sides agreed on binary transmission. */
  get binary(): boolean {
    return this.#serverOn.has(OPTION_BINARY) && this.#clientOn.has(OPTION_BINARY);
  }

  decode(chunk: Uint8Array): TelnetDecoded {
    const data = Buffer.allocUnsafe(chunk.length);
    let length = 0;
    const reply: number[] = [];
    for (const byte of chunk) {
      switch (this.#state) {
        case State.Data:
          if (byte === IAC) this.#state = State.Iac;
          else data[length++] = byte;
          break;
        case State.Iac:
          if (byte === IAC) {
            data[length++] = IAC; // escaped 0xFF
            this.#state = State.Data;
          } else if (byte === WILL || byte === WONT || byte === DO || byte === DONT) {
            this.#verb = byte;
            this.#state = State.Option;
          } else if (byte === SB) {
            this.#state = State.Subnegotiation;
          } else {
            // NOP, GA, DM, BRK, IP, AO, AYT, EC, EL, SE out of place: two bytes, dropped.
            this.#state = State.Data;
          }
          break;
        case State.Option:
          this.#negotiate(this.#verb, byte, reply);
          this.#state = State.Data;
          break;
        case State.Subnegotiation:
          if (byte === IAC) this.#state = State.SubnegotiationIac;
          break;
        case State.SubnegotiationIac:
          // IAC SE ends it; IAC IAC is a data byte inside it; anything else: stay inside.
          this.#state = byte === SE ? State.Data : State.Subnegotiation;
          break;
      }
    }
    return { data: data.subarray(0, length), reply: Buffer.from(reply) };
  }

  /** `data` with each 0xFF doubled. */
  encode(data: Uint8Array): Buffer {
    const first = data.indexOf(IAC);
    if (first === -1) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const out: number[] = [];
    for (const byte of data) {
      out.push(byte);
      if (byte === IAC) out.push(IAC);
    }
    return Buffer.from(out);
  }

  #negotiate(verb: number, option: number, reply: number[]): void {
    switch (verb) {
      case WILL: // the server offers to do `option`
        if (SERVER_OPTIONS.has(option)) {
          if (!this.#serverOn.has(option)) {
            this.#serverOn.add(option);
            reply.push(IAC, DO, option);
          }
        } else if (!this.#refusedServer.has(option)) {
          this.#refusedServer.add(option);
          reply.push(IAC, DONT, option);
        }
        break;
      case WONT:
        if (this.#serverOn.delete(option)) reply.push(IAC, DONT, option);
        break;
      case DO: // the server asks us to do `option`
        if (CLIENT_OPTIONS.has(option)) {
          if (!this.#clientOn.has(option)) {
            this.#clientOn.add(option);
            reply.push(IAC, WILL, option);
          }
        } else if (!this.#refusedClient.has(option)) {
          this.#refusedClient.add(option);
          reply.push(IAC, WONT, option);
        }
        break;
      case DONT:
        if (this.#clientOn.delete(option)) reply.push(IAC, WONT, option);
        break;
    }
  }
}
