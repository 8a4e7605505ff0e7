/** Who holds what, as the errors of a refused lease say it. */
import { type HolderFacts, PoolBusyError, type ResourceRef } from "../errors.js";
import type { OwnerRecord, PoolState } from "../records/records.js";

export function holderFacts(owner: OwnerRecord): HolderFacts {
  return {
    owner: owner.owner,
    pid: owner.holder.pid,
    kind: owner.holder.kind,
    machine: owner.client.machine,
    controllerPid: owner.client.pid,
  };
}

/** The owner record of `owner`, if there is one. */
export function ownerRecord(draft: PoolState, owner: string): OwnerRecord | undefined {
  return draft.owners.find((record) => record.owner === owner);
}

/** `resource` is leased to `owner`. */
export function busyBy(draft: PoolState, resource: ResourceRef, owner: string): PoolBusyError {
  const record = ownerRecord(draft, owner);
  return new PoolBusyError(resource, record ? { holder: holderFacts(record) } : {});
}

/** `record`'s owner is another pool client's. */
export function ownerBusy(record: OwnerRecord, detail: string): PoolBusyError {
  return new PoolBusyError(
    { type: "owner", owner: record.owner },
    { holder: holderFacts(record), detail },
  );
}
