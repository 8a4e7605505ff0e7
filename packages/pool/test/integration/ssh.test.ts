import { type SshdFixture, startSshd } from "@qemu-kvm/testkit";
import { afterAll, beforeAll } from "vitest";
import { sshTarget } from "../helpers.js";
import { poolSuite } from "./pool-suite.js";

let sshd: SshdFixture;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.close();
});

poolSuite(sshTarget(() => sshd));
