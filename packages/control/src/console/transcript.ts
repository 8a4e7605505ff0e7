import { MASK, maskSecrets } from "./console-text.js";

/**
 * A bounded record of a console session: what was read, as it came, and what
 * was written, between `«` and `»` with control characters escaped
 * (`«root\n»`). Secrets (the password) never appear: written ones are recorded
 * as `********`, and any occurrence in what was read (a terminal echoing it)
 * is masked as soon as it is complete.
 */
export class Transcript {
  readonly #maxChars: number;
  readonly #secrets: string[] = [];
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

  received(text: string): void {
    if (text.length === 0) return;
    const before = this.#text.length;
    this.#text += text;
    if (this.#secrets.length > 0) {
      // Only the new text and a secret's length before it can hold a new occurrence.
      const longest = Math.max(...this.#secrets.map((secret) => secret.length));
      const from = Math.max(0, before - longest);
      let window = this.#text.slice(from);
      for (const secret of this.#secrets) window = window.split(secret).join(MASK);
      this.#text = this.#text.slice(0, from) + window;
    }
    this.#trim();
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
    const text = this.#text.length > maxChars ? this.#text.slice(-maxChars) : this.#text;
    return this.mask(text);
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
