/**
 * Every public name of the six packages and the facade in one module: `tsc` (the typecheck
 * task, and public-names.test.ts) reports TS2308 if two packages export
 * different things under one name. Re-exports of the same thing (the packages
 * re-export the names of `@qemu-kvm/core` their APIs use) are not collisions.
 */
export * from "@qemu-kvm/bootline";
export * from "@qemu-kvm/control";
export * from "@qemu-kvm/core";
export * from "@qemu-kvm/host";
export * from "@qemu-kvm/monitor";
export * from "@qemu-kvm/pool";
export * from "qemu-kvm";
