import { describe, expect, test } from "vitest";
import { sha512Crypt } from "../../src/sha512-crypt.js";

// Test vectors of Drepper's specification ("Unix crypt using SHA-256 and SHA-512").
describe("sha512Crypt", () => {
  test.each([
    [
      "Hello world!",
      "saltstring",
      5000,
      "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
    ],
    [
      "Hello world!",
      "saltstringsaltstring",
      10000,
      "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
    ],
    [
      "This is just a test",
      "toolongsaltstring",
      5000,
      "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0",
    ],
    [
      "a very much longer text to encrypt.  This one even stretches over morethan one line.",
      "anotherlongsaltstring",
      1400,
      "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1",
    ],
  ])("%s / %s / %i rounds", (password, salt, rounds, expected) => {
    // The spec writes rounds=5000 explicitly when asked; crypt() output without it is the same hash.
    const hash = sha512Crypt(password, salt, rounds);
    expect(hash.split("$").at(-1)).toBe(expected.split("$").at(-1));
    expect(hash.split("$").at(-2)).toBe(expected.split("$").at(-2));
  });

  test("writes rounds only when they differ from the default", () => {
    expect(sha512Crypt("x", "salt")).toMatch(/^\$6\$salt\$[./0-9A-Za-z]{86}$/);
    expect(sha512Crypt("x", "salt", 1000)).toMatch(/^\$6\$rounds=1000\$salt\$/);
  });

  test("rejects salts that would break a shadow line, and out-of-range rounds", () => {
    expect(() => sha512Crypt("x", "a:b")).toThrow(RangeError);
    expect(() => sha512Crypt("x", "a$b")).toThrow(RangeError);
    expect(() => sha512Crypt("x", "salt", 999)).toThrow(RangeError);
  });
});
