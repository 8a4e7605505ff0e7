import { MASK, maskSecrets, SecretMasker } from "./console-text.js";

/**
 * A bounded record of a console session: what was read, as it came, and what
 * was written, between `«` and `»` with control characters escaped
 * (`«root\n»`). Secrets (the password) never appear: written ones are recorded
 * as `********`, and in what was read (a terminal echoing it, even a byte at a
 * time) a secret is masked whole: what may be its start is held back until
 * the rest tells (shown masked meanwhile, once 4 characters or more). What is
 * held back stays at the end of what was read, so it can still be completed
 * after a line the console wrote or a note.
 */
export class Transcript {
  readonly #maxChars: number;
  readonly #secrets: string[] = [];
  readonly #masker = new SecretMasker(this.#secrets);
  #text = "";

  constructor(maxChars: number) {
    this.#maxChars = maxChars;
  }

  addSecret(secret: string): void {
    if (secret.length > 0 && !this.#secrets.includes(secret)) this.#secrets.push(secret);
  }

  /** Masks secrets in `text` (for debug output and errors). */
  mask(text: string): string {
    return this.#secrets.length === 0 ? text : maskSecrets(text, this.#secrets);
  }

  /** Records text read; returns what is settled of it (secrets masked), for the debug log. */
  received(text: string): string {
    const settled = this.#masker.push(text);
    this.#text += settled;
    this.#trim();
    return settled;
  }

  sent(text: string, options: { secret?: boolean } = {}): void {
    const shown = options.secret
      ? `${MASK}${text.endsWith("\n") ? "\\n" : ""}`
      : escapeControls(this.mask(text));
    this.#text += `«${shown}»`;
    this.#trim();
  }

  /** A note from the console itself, e.g. `[console: resynchronized]`. */
  note(text: string): void {
    this.#text += `\n[console: ${text}]\n`;
    this.#trim();
  }

  /** The last `maxChars` characters (default: all kept), secrets masked. */
  text(maxChars = this.#maxChars): string {
    const all = this.#text + this.#masker.held;
    return this.mask(all.length > maxChars ? all.slice(-maxChars) : all);
  }

  #trim(): void {
    // Trim in steps (amortized linear), keeping at least maxChars.
    if (this.#text.length > this.#maxChars * 2) {
      this.#text = this.#text.slice(this.#text.length - this.#maxChars);
    }
  }
}

/** `\n`, `\r`, `\t`, ESC and other control characters as escapes; the rest as is. */
function escapeControls(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (char) => {
    switch (char) {
      case "\n":
        return "\\n";
      case "\r":
        return "\\r";
      case "\t":
        return "\\t";
      default:
        return `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`;
    }
  });
}
