import { once } from "node:events";
import { createServer } from "node:net";

/**
 * A TCP port on `host` that nobody listened on a moment ago (the kernel picks it).
 * It is free only at that moment: another process may bind it before the caller
 * does, so a caller must handle that lost race, by picking again as `startSshd`
 * and the control telnet fixture do.
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return address.port;
}
