import { readFile } from "node:fs/promises";
import ssh2, { type AnyAuthMethod, type AuthHandlerMiddleware, type ParsedKey } from "ssh2";
import { HostAuthError } from "../errors/host-errors.js";
import type { ResolvedSshOptions } from "./ssh-options.js";

const { utils } = ssh2;

/** The login of one connection: ssh2's auth handler, and the end of the secrets it holds. */
export interface Authentication {
  /**
   * Hands ssh2 one method after the other (publickey, agent, password,
   * keyboard-interactive). A function, not a list: ssh2 keeps its
   * `authHandler` in the client's `config`, where a list would show the
   * password and the parsed key to anyone who prints a stream of the host.
   */
  handler: AuthHandlerMiddleware;
  /** Drops the methods (the parsed key, the password): call once the handshake is over. */
  forget(): void;
}

/** The private key's text: given, or read from its file (at each connection). */
async function privateKey(options: ResolvedSshOptions): Promise<string | Buffer | undefined> {
  const { privateKey: key, privateKeyFile } = options.credentials();
  if (key !== undefined || privateKeyFile === undefined) return key;
  try {
    return await readFile(privateKeyFile);
  } catch (error) {
    throw new HostAuthError({
      user: options.user,
      message: `cannot read the private key ${privateKeyFile}: ${(error as Error).message}`,
      host: options.name,
      cause: error,
    });
  }
}

/**
 * The methods to offer, from the credentials (asked for now, forgotten with
 * `forget()`). Rejects with `ERR_HOST_AUTH` when the key cannot be read or used.
 */
export async function authentication(options: ResolvedSshOptions): Promise<Authentication> {
  const username = options.user;
  const methods: AnyAuthMethod[] = [];
  const key = await privateKey(options);
  if (key !== undefined) {
    const parsed = utils.parseKey(key, options.credentials().passphrase);
    if (parsed instanceof Error)
      throw new HostAuthError({
        user: username,
        message: `cannot use the private key: ${parsed.message}`,
        host: options.name,
        cause: parsed,
      });
    const first = (Array.isArray(parsed) ? parsed[0] : parsed) as ParsedKey | undefined;
    if (first) methods.push({ type: "publickey", username, key: first });
  }
  if (options.agent !== undefined) methods.push({ type: "agent", username, agent: options.agent });
  const { password } = options.credentials();
  if (password !== undefined) {
    methods.push({ type: "password", username, password });
    methods.push({
      type: "keyboard-interactive",
      username,
      prompt: (_name, _instructions, _language, prompts, finish) =>
        finish(prompts.map(() => password)),
    });
  }
  let next = 0;
  return {
    // `false`: nothing left to try (ssh2 then fails with "All configured authentication methods failed").
    handler: (_methodsLeft, _partialSuccess, callback) =>
      callback(methods[next++] ?? (false as unknown as AnyAuthMethod)),
    forget: () => {
      methods.length = 0;
    },
  };
}
