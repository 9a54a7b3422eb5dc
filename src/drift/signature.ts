// Which watch events are drift: an object changed by someone other than this operator, outside
// its status. Told apart by the object's managedFields alone, so the watch can be metadata-only.
import { createHash } from 'node:crypto';
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
  /** Moves with every spec change of a kind that has one (not with status or metadata writes). */
  generation?: number;
  deletionTimestamp?: string;
  annotations?: Record<string, string>;
  managedFields?: ManagedFieldsEntry[];
}

/**
 * Two fingerprints of an object's managedFields (hashed: thousands are kept): every writer's, and
 * the writers that count as drift, whose names are kept for the log line.
 */
export interface Signature {
  all: string;
  others: string;
  /** The writers that count as drift, the latest last. */
  writers: string[];
  generation?: number | undefined;
}

const digest = (s: string) => createHash('sha1').update(s).digest('base64');

const notDrift = new Set([fieldManager, 'kube-controller-manager']);

const entry = (e: ManagedFieldsEntry) =>
  JSON.stringify([e.manager, e.operation, e.subresource ?? '', e.time, e.fieldsV1 ?? null]);

export function signature(meta: ObjectMeta): Signature {
  const fields = meta.managedFields ?? [];
  // Our own applies, any status writer and the cluster's own controllers (a Deployment's revision
  // annotation, an autoscaler's replicas) are not drift: a person or another tool is.
  const others = fields.filter((e) => !notDrift.has(e.manager ?? '') && e.subresource !== 'status');
  return {
    all: digest(fields.map(entry).sort().join('\n')),
    others: digest(`${meta.deletionTimestamp ?? ''}\n${others.map(entry).sort().join('\n')}`),
    generation: meta.generation,
    writers: others
      .sort((a, b) => (a.time ?? '').localeCompare(b.time ?? ''))
      .map((e) => e.manager ?? 'unknown'),
  };
}

/**
 * Whether a MODIFIED event (`now`, after `before`) may be drift. An edit by another writer moves
 * its managedFields entry; a status update or one of our applies moves only theirs. An event that
 * moved no entry at all is ambiguous (managedFields times have one-second resolution: the same
 * writer twice in a second): for a kind with a generation, drift if the spec changed (a status
 * writer twice in a second does not move it); for one without (a ConfigMap has no status), drift —
 * a needless check costs a pass, a missed edit stays.
 */
export function isDrift(before: Signature | undefined, now: Signature): boolean {
  if (!before) return true;
  if (before.others !== now.others) return true;
  if (before.all !== now.all) return false;
  return now.generation === undefined || now.generation !== before.generation;
}
