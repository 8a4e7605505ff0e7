/**
 * The checks the guest-build test and the measurement script share: each one
 * waits for an event (console output, an agent reply, an SSH command's result)
 * with its own deadline.
 */
import type { SerialSession } from "./serial-session.js";

/**
 * Waits (inside the guest, bounded) until `device` has an IPv4 address from
 * DHCP, then returns `ip -4 addr show dev DEVICE`.
 */
export async function waitForAddress(
  session: SerialSession,
  device = "eth0",
  timeoutMs = 60_000,
): Promise<string> {
  const tries = Math.ceil(timeoutMs / 20);
  const { output, exitCode } = await session.run(
    `i=0; until ip -4 addr show dev ${device} | grep -q 'inet '; do ` +
      `i=$((i+1)); [ $i -ge ${tries} ] && break; usleep 20000; done; ip -4 addr show dev ${device}`,
    timeoutMs + 5_000,
  );
  if (exitCode !== 0) throw new Error(`ip addr show dev ${device} failed (${exitCode}): ${output}`);
  return output;
}
