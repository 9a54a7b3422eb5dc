// Stage 1: the namespace's manifests at the commit — loaded, validated and hashed once per sha
// (an invalid set is remembered too), or why there is no set to apply.
import { desired } from '../kube/ssa.ts';
import { ManifestError, ManifestSetError } from '../manifests/errors.ts';
import { loadNamespace } from '../manifests/load.ts';
import type { ObjectRef } from '../manifests/object.ts';
import type { ParsedObject } from '../manifests/parse.ts';
import type { Failure } from '../version/recorder.ts';
import type { Deps, Prepared } from './context.ts';

export type { Prepared } from './context.ts';

export type ManifestSet = Exclude<Prepared, { error: unknown }>;

/** Loads, validates and hashes a namespace's set once per sha. */
export function prepared(deps: Deps, ns: string, sha: string): Promise<Prepared> {
  const cached = deps.manifests.get(ns);
  if (cached !== undefined) return cached.then((c) => (c.sha === sha ? c : load(deps, ns, sha)));
  return load(deps, ns, sha);
}

function load(deps: Deps, ns: string, sha: string): Promise<Prepared> {
  const started = performance.now();
  const p: Promise<Prepared> = loadNamespace(deps.git, sha, deps.config.clusterName, ns).then(
    (set) => ({ ...asSent(set.objects, ns, sha), ms: Math.round(performance.now() - started) }),
    (error: unknown) => {
      // Only a verdict on the files is kept; a git hiccup is tried again next time.
      if (!isVerdict(error) && deps.manifests.get(ns) === p) deps.manifests.delete(ns);
      return { sha, error };
    },
  );
  deps.manifests.set(ns, p);
  return p;
}

/** The parsed objects as they are sent (hashed), with each one's file:line for messages. */
export function asSent(parsed: readonly ParsedObject[], ns: string, sha: string): ManifestSet {
  const where = new Map<string, string>();
  for (const o of parsed) {
    const at = `${o.object.kind}/${o.object.metadata.name}`;
    if (!where.has(at)) where.set(at, `${o.source.replace(/#\d+$/, '')}:${o.line}`);
  }
  return { sha, objects: parsed.map((o) => desired(o.object, ns)), where, ms: 0 };
}

const isVerdict = (err: unknown): err is ManifestError | ManifestSetError =>
  err instanceof ManifestSetError || err instanceof ManifestError;

/**
 * Why there is no set: git could not be read (tried again, no signal), or the files are invalid —
 * then every Deployment CI could wait on gets its failed outcome: those of the inventory and those
 * in the files of this sha that parse on their own.
 */
export function manifestFailure(error: unknown, inventory: readonly ObjectRef[]): Failure {
  if (!isVerdict(error)) return { reason: 'SourceUnavailable', message: (error as Error).message };
  const parsed = error instanceof ManifestSetError ? error.parsed : [];
  const named = [...inventory, ...parsed].filter((o) => o.kind === 'Deployment').map((o) => o.name);
  return { reason: 'InvalidManifests', message: error.message, signal: [...new Set(named)] };
}
