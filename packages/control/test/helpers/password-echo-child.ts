/**
 * Run in a child process by `console-secrets.test.ts`, with
 * `NODE_DEBUG=qemu-kvm:control` (util.debuglog reads it at start): logs in on
 * fake guests that echo the password at `Password:` in small pieces, and
 * prints as JSON the transcripts and the errors' transcripts, while the debug
 * output goes to stderr.
 */
import { createSerialConsole, type SerialConsoleOptions } from "../../src/index.js";
import { FakeShell, type FakeShellOptions } from "./fake-shell.js";

const password = process.argv[2]!;
const seen: {
  transcripts: string[];
  errors: Array<{ code: unknown; message: string; transcript: unknown }>;
} = { transcripts: [], errors: [] };

async function attempt(shell: FakeShellOptions, options: SerialConsoleOptions = {}): Promise<void> {
  const peer = new FakeShell({ password, greet: true, ...shell });
  const console = createSerialConsole(peer, { password, nudgeIntervalMs: 200, ...options });
  try {
    await console.login({ timeoutMs: 2_000 });
  } catch (error) {
    const { code, message, transcript } = error as Record<string, unknown>;
    seen.errors.push({ code, message: String(message), transcript });
  } finally {
    seen.transcripts.push(console.transcript());
    console.destroy();
  }
}

// Echoed a byte at a time, then three at a time: logged in.
await attempt({ echoPassword: { chunkSize: 1 } });
await attempt({ echoPassword: { chunkSize: 3 } });
// Echoed, then refused: ERR_CONSOLE_LOGIN with the transcript.
await attempt({ echoPassword: { chunkSize: 1 }, password: "another one" });
// Half echoed, then nothing: ERR_TIMEOUT with the transcript ending inside the echo.
await attempt({ echoPassword: { chunkSize: 1, stopAfter: 6 }, ignoreInterrupts: true });
process.stdout.write(JSON.stringify(seen));
