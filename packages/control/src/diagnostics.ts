import { OperationChannel } from "@qemu-kvm/core";

/**
 * The package's operations, published on `qemu-kvm:control` (see
 * `OperationMessage` in `@qemu-kvm/core`): console `login` and `run`, agent
 * `connect`, `run` and each agent command (`qga`, the command as target).
 */
export const operations = new OperationChannel("control");
