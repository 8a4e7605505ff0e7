/**
 * SHA-512 crypt (`$6$`), as glibc/libxcrypt `crypt()` and `openssl passwd -6`
 * compute it (Drepper's "Unix crypt using SHA-256 and SHA-512"), so the guest's
 * /etc/shadow is built without host tools. Pure.
 */
import { createHash } from "node:crypto";

const ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const DEFAULT_ROUNDS = 5000;

/** Byte triples of the final digest in the order the encoding takes them. */
const ORDER: ReadonlyArray<readonly [number, number, number]> = [
  [0, 21, 42],
  [22, 43, 1],
  [44, 2, 23],
  [3, 24, 45],
  [25, 46, 4],
  [47, 5, 26],
  [6, 27, 48],
  [28, 49, 7],
  [50, 8, 29],
  [9, 30, 51],
  [31, 52, 10],
  [53, 11, 32],
  [12, 33, 54],
  [34, 55, 13],
  [56, 14, 35],
  [15, 36, 57],
  [37, 58, 16],
  [59, 17, 38],
  [18, 39, 60],
  [40, 61, 19],
  [62, 20, 41],
];

function sha512(...parts: Buffer[]): Buffer {
  const hash = createHash("sha512");
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** `source` repeated and cut to `length` bytes. */
function stretch(source: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let offset = 0; offset < length; offset += source.length) source.copy(out, offset);
  return out;
}

function encode24(b2: number, b1: number, b0: number, chars: number): string {
  let word = (b2 << 16) | (b1 << 8) | b0;
  let out = "";
  for (let i = 0; i < chars; i++) {
    out += ALPHABET[word & 0x3f];
    word >>>= 6;
  }
  return out;
}

/**
 * `sha512Crypt("Hello world!", "saltstring")` →
 * `$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1`.
 * The salt is cut to 16 characters, as crypt() does; `rounds` (1000–999999999) other
 * than the default is written as `rounds=N$`.
 */
export function sha512Crypt(password: string, salt: string, rounds = DEFAULT_ROUNDS): string {
  if (!Number.isInteger(rounds) || rounds < 1000 || rounds > 999_999_999)
    throw new RangeError(`rounds must be an integer in 1000…999999999, not ${rounds}`);
  if (/[$:\n]/.test(salt)) throw new RangeError("the salt must not contain '$', ':' or a newline");
  const key = Buffer.from(password, "utf8");
  const saltBytes = Buffer.from(salt, "utf8").subarray(0, 16);

  const b = sha512(key, saltBytes, key);
  const aParts: Buffer[] = [key, saltBytes, stretch(b, key.length)];
  for (let length = key.length; length > 0; length >>= 1) aParts.push(length & 1 ? b : key);
  const a = sha512(...aParts);

  const p = stretch(sha512(...Array.from({ length: key.length }, () => key)), key.length);
  const s = stretch(
    sha512(...Array.from({ length: 16 + a[0]! }, () => saltBytes)),
    saltBytes.length,
  );

  let c = a;
  for (let round = 0; round < rounds; round++) {
    const parts: Buffer[] = [round & 1 ? p : c];
    if (round % 3 !== 0) parts.push(s);
    if (round % 7 !== 0) parts.push(p);
    parts.push(round & 1 ? c : p);
    c = sha512(...parts);
  }

  let encoded = "";
  for (const [x, y, z] of ORDER) encoded += encode24(c[x]!, c[y]!, c[z]!, 4);
  encoded += encode24(0, 0, c[63]!, 2);
  const roundsPart = rounds === DEFAULT_ROUNDS ? "" : `rounds=${rounds}$`;
  return `$6$${roundsPart}${saltBytes.toString("utf8")}$${encoded}`;
}
