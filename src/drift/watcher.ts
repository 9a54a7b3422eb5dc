// Drift by watch: each namespace's applied kinds are watched (one KindWatch per kind), so a hand
// edit is seen the moment it happens and an idle operator sends the apiserver nothing.
import type { KubeClient } from '../kube/client.ts';
import { suspendAnnotation } from '../kube/labels.ts';
import type { RestMapper } from '../kube/mapping.ts';
import type { Logger } from '../log.ts';
import type { ObjectRef } from '../manifests/object.ts';
import { type DriftSighting, KindWatch } from './kind-watch.ts';

interface Watched {
  watch: KindWatch;
  /** Not yet open (its baseline LIST under way), open, or down after an error until it opens again. */
  state: 'starting' | 'up' | 'down';
  /** Why it cannot be watched at all (403, 404), while that lasts. */
  why?: string | undefined;
}

export class DriftWatcher {
  /** namespace → "apiVersion|kind" → its watch. */
  private readonly watches = new Map<string, Map<string, Watched>>();
  /** Each tracked namespace's Version watch (its suspend annotation). */
  private readonly versions = new Map<string, KindWatch>();
  /** Drift seen and not yet taken, per namespace. */
  private readonly pending = new Map<string, DriftSighting[]>();

  constructor(
    private readonly client: KubeClient,
    private readonly mapper: RestMapper,
    private readonly log: Logger,
    /** Called when drift is seen in a namespace (take() tells what). */
    private readonly drifted: (ns: string) => void,
  ) {}

  /** Watches the kinds of the set applied in `ns` (and stops watching kinds it no longer holds). */
  async track(ns: string, refs: readonly ObjectRef[]): Promise<void> {
    this.watchVersion(ns);
    const byKind = new Map<string, { ref: ObjectRef; names: string[] }>();
    for (const r of refs) {
      const key = `${r.apiVersion}|${r.kind}`;
      const g = byKind.get(key) ?? { ref: r, names: [] };
      g.names.push(r.name);
      byKind.set(key, g);
    }
    const kinds = this.watches.get(ns) ?? new Map<string, Watched>();
    this.watches.set(ns, kinds);
    for (const [key, w] of kinds) {
      if (byKind.has(key)) continue;
      kinds.delete(key);
      void w.watch.stop();
    }
    // A sighting of an object the new set no longer holds (pruned on purpose) is no drift.
    const held = new Set([...refs.map((r) => `${r.kind}/${r.name}`), `Version/${ns}`]);
    this.pending.set(
      ns,
      (this.pending.get(ns) ?? []).filter((s) => held.has(`${s.kind}/${s.name}`)),
    );
    const failed: string[] = [];
    for (const [key, { ref, names }] of byKind) {
      try {
        const w = kinds.get(key) ?? (await this.start(ns, ref));
        kinds.set(key, w);
        w.watch.want(names);
      } catch (err) {
        failed.push(`${ref.kind}: ${(err as Error).message}`); // the other kinds are watched all the same
      }
    }
    if (failed.length) throw new Error(failed.join('; '));
  }

  /**
   * The namespace's Version, for its suspend annotation: a settled namespace gets no pass until
   * something changes, so `suspend` and `resume` must be seen, not found at a poll.
   */
  private watchVersion(ns: string): void {
    if (this.versions.has(ns)) return;
    const watch = new KindWatch({
      client: this.client,
      collection: `/apis/versions.mozilla.org/v1/namespaces/${ns}/versions`,
      select: `fieldSelector=${encodeURIComponent(`metadata.name=${ns}`)}`,
      kind: 'Version',
      judge: (before, now) =>
        !!before && before.annotations?.[suspendAnnotation] !== now.annotations?.[suspendAnnotation],
      drifted: this.sighted(ns),
      state: () => {},
    });
    watch.want([ns]);
    this.versions.set(ns, watch);
  }

  /** What every watch of `ns` does with a sighting: kept until taken, and the operator told. */
  private sighted(ns: string): (s: DriftSighting) => void {
    return (s) => {
      this.pending.set(ns, [...(this.pending.get(ns) ?? []), s]);
      this.drifted(ns);
    };
  }

  /** Stops watching `ns` (it is no longer this replica's, or the operator stops). */
  async untrack(ns: string): Promise<void> {
    const kinds = this.watches.get(ns);
    this.watches.delete(ns);
    this.pending.delete(ns);
    const version = this.versions.get(ns);
    this.versions.delete(ns);
    await version?.stop();
    await Promise.all([...(kinds?.values() ?? [])].map((w) => w.watch.stop()));
  }

  /** Every applied kind of `ns` is watched now: no periodic check is needed there. */
  watching(ns: string): boolean {
    // A watch still starting counts: falling back to a check every poll while thousands of watches
    // open (after a restart) would add LISTs exactly when the apiserver is busiest.
    return this.every(ns, (w) => w.state !== 'down');
  }

  /** Every applied kind of `ns` has its watch open. */
  open(ns: string): boolean {
    return this.every(ns, (w) => w.state === 'up');
  }

  /** Asked of every namespace at every poll: no array is made for it. */
  private every(ns: string, ok: (w: Watched) => boolean): boolean {
    const kinds = this.watches.get(ns);
    if (!kinds) return false;
    for (const w of kinds.values()) if (!ok(w)) return false;
    return true;
  }

  /** The drift seen in `ns` since the last call. */
  take(ns: string): DriftSighting[] {
    const p = this.pending.get(ns) ?? [];
    this.pending.delete(ns);
    return p;
  }

  /** How many kind watches are open (a gauge). */
  get size(): number {
    let n = 0;
    for (const kinds of this.watches.values()) n += kinds.size;
    return n;
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...new Set([...this.watches.keys(), ...this.versions.keys()])].map((ns) => this.untrack(ns)),
    );
  }

  private async start(ns: string, ref: ObjectRef): Promise<Watched> {
    const collection = await this.mapper.path(ref.apiVersion, ref.kind, ns);
    const w: Watched = {
      state: 'starting',
      watch: new KindWatch({
        client: this.client,
        collection,
        kind: ref.kind,
        drifted: this.sighted(ns),
        state: (up, why) => {
          // Said once per cause: the namespace falls back to a drift check every poll meanwhile.
          if (why && why !== w.why)
            this.log.warn(
              { namespace: ns, kind: ref.kind },
              `cannot watch for drift, checking every poll: ${why}`,
            );
          w.why = why;
          w.state = up ? 'up' : 'down';
        },
      }),
    };
    return w;
  }
}
