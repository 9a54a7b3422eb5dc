// Which watch events are drift: an object changed by someone other than this operator, outside
// its status. Told apart by the object's managedFields alone, so the watch can be metadata-only.
import { fieldManager } from '../kube/labels.ts';

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  time?: string;
  fieldsV1?: unknown;
}

/** What a metadata-only watch event carries that drift detection reads. */
export interface ObjectMeta {
  name?: string;
  resourceVersion?: string;
  deletionTimestamp?: string;
  managedFields?: ManagedFieldsEntry[];
}

/** Two fingerprints of an object's managedFields: every writer's, and the writers that count as drift. */
export interface Signature {
  all: string;
  others: string;
}

const notDrift = new Set([fieldManager, 'kube-controller-manager']);

const entry = (e: ManagedFieldsEntry) =>
  JSON.stringify([e.manager, e.operation, e.subresource ?? '', e.time, e.fieldsV1 ?? null]);

export function signature(meta: ObjectMeta): Signature {
  const fields = meta.managedFields ?? [];
  // Our own applies, any status writer and the cluster's own controllers (a Deployment's revision
  // annotation, an autoscaler's replicas) are not drift: a person or another tool is.
  const others = fields.filter((e) => !notDrift.has(e.manager ?? '') && e.subresource !== 'status');
  return {
    all: fields.map(entry).sort().join('\n'),
    others: `${meta.deletionTimestamp ?? ''}\n${others.map(entry).sort().join('\n')}`,
  };
}

/**
 * Whether a MODIFIED event (`now`, after `before`) may be drift. An edit by another writer moves
 * its managedFields entry; a status update or one of our applies moves only theirs. An event that
 * moved no entry at all is ambiguous (managedFields times have one-second resolution: the same
 * writer twice in a second) and counts as drift: a needless check costs a pass, a missed edit stays.
 */
export function isDrift(before: Signature | undefined, now: Signature): boolean {
  if (!before) return true;
  return before.others !== now.others || before.all === now.all;
}
