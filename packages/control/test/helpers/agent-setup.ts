import { test as base } from "@qemu-kvm/testkit/fixtures";
import {
  type ConnectGuestAgentOptions,
  connectGuestAgent,
  type GuestAgentClient,
} from "../../src/index.js";
import { FakeAgent, type FakeAgentOptions, type Handler } from "./fake-agent.js";

export interface AgentPair {
  peer: FakeAgent;
  agent: GuestAgentClient;
}

export interface Agents {
  /** A client connected to a fake agent that answers with `handler` (then its defaults). */
  connected(handler?: Handler, options?: ConnectGuestAgentOptions): Promise<AgentPair>;
  /** A fake agent whose stream is destroyed after the test. */
  peer(handler?: Handler, options?: FakeAgentOptions): FakeAgent;
}

/** Bytes the client wrote, as latin1 text (0xFF shows as ÿ). */
export function wire(peer: FakeAgent): string {
  return Buffer.concat(peer.raw).toString("latin1");
}

/** `test` with `agents`: every fake agent (and so every client on it) is destroyed after the test. */
export const test = base.extend("agents", async ({}, { onCleanup }): Promise<Agents> => {
  const peers: FakeAgent[] = [];
  const peer = (handler?: Handler, options?: FakeAgentOptions) => {
    const fake = new FakeAgent(handler, options);
    peers.push(fake);
    return fake;
  };
  onCleanup(() => {
    for (const fake of peers) fake.destroy();
  });
  return {
    peer,
    async connected(handler, options = {}) {
      const fake = peer(handler);
      return { peer: fake, agent: await connectGuestAgent(fake, options) };
    },
  };
});
