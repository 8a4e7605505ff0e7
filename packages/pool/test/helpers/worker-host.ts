/**
 * How a worker process reaches the host under test: locally, or over SSH to
 * the test sshd. Imported by the worker itself, so it imports no test runner.
 */
import { readFileSync } from "node:fs";
import { connectSshHost, createLocalHost, type Host } from "@qemu-kvm/host";

export type WorkerHost =
  | { transport: "local" }
  | {
      transport: "ssh";
      host: string;
      port: number;
      user: string;
      privateKeyPath: string;
      knownHostsPath: string;
    };

export async function openWorkerHost(spec: WorkerHost): Promise<Host> {
  if (spec.transport === "local") return createLocalHost();
  return connectSshHost({
    host: spec.host,
    port: spec.port,
    user: spec.user,
    privateKey: readFileSync(spec.privateKeyPath, "utf8"),
    hostKey: { knownHostsFile: spec.knownHostsPath },
  });
}
