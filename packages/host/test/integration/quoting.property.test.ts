/**
 * Quoting end to end, property-based: random words (full of quotes, `$`,
 * backquotes, newlines, any Unicode) given as arguments and as an environment
 * value reach the command byte for byte, locally (no shell) and over SSH (the
 * login shell, then the wrapper's `/bin/sh`), against testkit's real sshd; a
 * word no process can receive is refused with a coded `ERR_INVALID_ARGUMENT`
 * before anything runs. Bounded: few runs, a few seconds each; a failure
 * prints the counterexample and its seed.
 */
import { test as base } from "@qemu-kvm/testkit/fixtures";
import fc from "fast-check";
import { describe, expect } from "vitest";
import { connectSshHost, createLocalHost, type Host } from "../../src/index.js";
import { badWord, terminated, word, words } from "../helpers/quoting-arbitraries.js";
import { sshOptions } from "../helpers/ssh.js";

const LIMITS = { numRuns: 40, interruptAfterTimeLimit: 8000, seed: 1302 };

/** Prints `$QK_VALUE`, then each argument, NUL-terminated. */
const PRINTER = ["-c", 'printf "%s\\0" "$QK_VALUE" "$@"', "sh"];

const transports = {
  local: base.extend("host", async ({}, { onCleanup }): Promise<Host> => {
    const host = createLocalHost();
    onCleanup(() => host.close());
    return host;
  }),
  ssh: base.extend("host", async ({ sshd }, { onCleanup }): Promise<Host> => {
    const host = await connectSshHost(sshOptions(sshd));
    onCleanup(() => host.close());
    return host;
  }),
};

for (const [name, test] of Object.entries(transports)) {
  describe(`${name}: quoting, property-based`, () => {
    test("random arguments and an environment value arrive byte for byte", async ({ host }) => {
      await fc.assert(
        fc.asyncProperty(words, word, async (args, value) => {
          const { stdout } = await host.exec("sh", [...PRINTER, ...args], {
            env: { QK_VALUE: value },
            encoding: "buffer",
          });
          expect(stdout).toEqual(terminated([value, ...args].map((each) => Buffer.from(each))));
        }),
        LIMITS,
      );
    });

    test("a word no process can receive is ERR_INVALID_ARGUMENT naming it, thrown before anything runs", async ({
      host,
    }) => {
      await fc.assert(
        fc.asyncProperty(words, badWord, fc.nat(), async (args, bad, at) => {
          const index = at % (args.length + 1);
          const mixed = [...args] as unknown[];
          mixed.splice(index, 0, bad);
          let error: unknown;
          try {
            await host.exec("sh", [...PRINTER, ...(mixed as string[])]);
          } catch (caught) {
            error = caught;
          }
          expect(error).toMatchObject({
            code: "ERR_INVALID_ARGUMENT",
            field: `args[${index + PRINTER.length}]`,
          });
          // An undefined value removes the variable: valid.
          if (bad !== undefined)
            expect(() => host.exec("true", [], { env: { QK_VALUE: bad as string } })).toThrow(
              expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "env.QK_VALUE" }),
            );
        }),
        { ...LIMITS, numRuns: 200 },
      );
    });
  });
}
