import { beforeEach, onTestFailed } from "vitest";

/**
 * When a test fails, prints the end of the console's transcript (what was read
 * and written, the password masked), so a failure in CI shows what the guest did.
 */
export function printTranscriptOnFailure(
  current: () => { transcript(maxChars?: number): string } | undefined,
): void {
  beforeEach(() => {
    onTestFailed(() => {
      const transcript = current()?.transcript(16_384) ?? "(no console)";
      process.stderr.write(
        `\n--- console transcript, last 16 KiB ---\n${transcript}\n--- end ---\n`,
      );
    });
  });
}
