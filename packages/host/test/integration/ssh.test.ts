import { type SshdFixture, startSshd } from "@qemu-kvm/testkit";
import { afterAll, beforeAll } from "vitest";
import { sshHost } from "../../src/index.js";
import { hostConformance } from "./conformance.js";

let sshd: SshdFixture;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.close();
});

hostConformance("sshHost", {
  open: () =>
    sshHost({
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      privateKey: sshd.privateKey,
      hostKey: { knownHostsFile: sshd.knownHostsPath },
    }),
});
