/**
 * A controller in another process: starts a VM, detaches (the console logs
 * out) and exits, leaving the VM running. Arguments: a JSON of createVm's
 * options but the host (a local host is made here).
 */
import { createLocalHost } from "@qemu-kvm/host";
import { createVm } from "../../src/index.js";

const options = JSON.parse(process.argv[2]!);
const host = createLocalHost();
const vm = createVm({ host, ...options });
await vm.start();
process.stdout.write(
  `${JSON.stringify({ pid: vm.pid, runtimeDir: vm.runtimeDir, uuid: vm.uuid })}\n`,
);
await vm.detach();
await host.close();
