/** One grant as a churn worker reports it. */
export interface Held {
  resources: string[];
  from: string;
  to: string;
}

interface Use {
  worker: number;
  key: string;
  address: string;
  pf: boolean;
  from: bigint;
  to: bigint;
}

/** Every use of a resource, by domain: a port, a CPU, or a PCI family (a PF with its VFs). */
function usesByDomain(grants: { worker: number; held: Held }[]): Map<string, Use[]> {
  const domains = new Map<string, Use[]>();
  for (const { worker, held } of grants) {
    for (const resource of held.resources) {
      let domain = resource;
      let address = resource;
      let pf = false;
      if (resource.startsWith("pci:")) {
        const [device, family] = resource.slice(4).split("@");
        address = device!;
        domain = `pci:${family || device}`;
        pf = family === device;
      }
      const list = domains.get(domain) ?? [];
      list.push({
        worker,
        key: resource,
        address,
        pf,
        from: BigInt(held.from),
        to: BigInt(held.to),
      });
      domains.set(domain, list);
    }
  }
  return domains;
}

/**
 * Two grants made to different workers that overlap in time and conflict: the
 * same port, CPU or PCI device, or a PF and one of its VFs. With a working lock
 * this is impossible: a grant is recorded from the return of its lease call to
 * the start of its release call, and a conflicting grant can only be committed
 * after that release was committed, so it returns later.
 */
export function findConflicts(grants: { worker: number; held: Held }[]): string[] {
  const conflicts: string[] = [];
  for (const uses of usesByDomain(grants).values()) {
    uses.sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
    for (let i = 0; i < uses.length; i++) {
      for (let j = i + 1; j < uses.length && uses[j]!.from <= uses[i]!.to; j++) {
        const a = uses[i]!;
        const b = uses[j]!;
        if (a.worker === b.worker) continue;
        if (a.address === b.address || a.pf || b.pf)
          conflicts.push(
            `${a.key} held by worker ${a.worker} and ${b.key} by worker ${b.worker} at the same time`,
          );
      }
    }
  }
  return conflicts;
}
