// One kind's objects in one namespace, watched for drift: a metadata-only LIST by our label, then
// a WATCH from its resourceVersion (with bookmarks, so a resume rarely finds it compacted). A
// dropped watch resumes from the last resourceVersion seen; 410 Gone lists again and compares.
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, type KubeClient, metadataOnly } from '../kube/client.ts';
import { selector } from '../kube/labels.ts';
import { isDrift, type ObjectMeta, type Signature, signature } from './signature.ts';

type Event = { type: string; object: { metadata?: ObjectMeta; code?: number; message?: string } };

/** What a watched object was changed by, for the log line that reports the drift. */
export interface DriftSighting {
  kind: string;
  name: string;
  /** The newest writer that is not this operator (undefined: deleted, or no other writer). */
  by?: string | undefined;
  deleted?: boolean;
}

export interface KindWatchOptions {
  client: KubeClient;
  /** The collection path of the kind in the namespace. */
  collection: string;
  /** Which objects: our label by default; the Version is selected by name. */
  select?: string;
  /**
   * Whether a change is one to act on (default: drift, from managedFields). The Version's watch
   * acts only on its suspend annotation changing (its other writes are ours).
   */
  judge?: (before: Judged | undefined, now: ObjectMeta) => boolean;
  kind: string;
  /** Reports each desired object found changed. */
  drifted: (s: DriftSighting) => void;
  /** The watch is up (a LIST answered) or down (an error; a reason when it cannot be watched at all). */
  state: (up: boolean, why?: string) => void;
}

/** What a judged watch keeps of an object's last sighting. */
export type Judged = Pick<ObjectMeta, 'annotations'>;

/**
 * What is kept of each object seen: its resourceVersion, and only what the next sighting is
 * compared with (a drift signature, or the annotations a judge reads). Not the metadata itself:
 * at 1,000 namespaces the managedFields of every object would be a large share of the heap.
 */
interface Seen {
  rv: string | undefined;
  sig?: Signature;
  judged?: Judged;
}

/**
 * Backoff between attempts after an error: 0.5 s doubling to 30 s, each drawn from its upper half
 * (thousands of watches cut by one apiserver restart do not come back in step).
 */
const backoffMs = (n: number) => Math.min(500 * 2 ** n, 30_000) * (0.5 + Math.random() / 2);

/** Each watch asks to be closed after 30–60 min (spread, so many watches do not renew together). */
const timeoutSeconds = () => 1800 + Math.floor(Math.random() * 1800);

export class KindWatch {
  /** Names of the objects the applied set holds: only they can drift. */
  private desired = new Set<string>();
  private readonly seen = new Map<string, Seen>();
  private rv: string | undefined;
  /** LISTs and WATCHes sent, and 410s met (each answered by a LIST). */
  readonly counts = { lists: 0, watches: 0, expired: 0 };
  private readonly abort = new AbortController();
  readonly done: Promise<void>;

  constructor(private readonly o: KindWatchOptions) {
    this.done = this.loop();
  }

  want(names: Iterable<string>): void {
    this.desired = new Set(names);
  }

  stop(): Promise<void> {
    this.abort.abort();
    return this.done;
  }

  private async loop(): Promise<void> {
    const signal = this.abort.signal;
    for (let failures = 0; !signal.aborted; ) {
      try {
        if (this.rv === undefined) await this.relist();
        await this.watch();
        failures = 0; // the server closed a healthy watch (its timeout): resume at once
      } catch (err) {
        if (signal.aborted) break;
        await sleep(this.failed(err, failures++), undefined, { signal }).catch(() => {});
      }
    }
  }

  /** Reports a failed LIST or WATCH; returns how long to wait before the next attempt. */
  private failed(err: unknown, failures: number): number {
    const status = err instanceof ApiError ? err.status : 0;
    if (status === 410) {
      this.rv = undefined; // compacted, or older than a restarted apiserver's cache: list again and compare
      this.counts.expired++;
    }
    // 403/404: RBAC lacks list/watch, or the kind is gone; the operator checks by polling instead.
    const unwatchable = status === 403 || status === 404;
    this.o.state(false, unwatchable ? (err as Error).message : undefined);
    return unwatchable ? 60_000 : backoffMs(failures);
  }

  /** Lists the kind by our label; any desired object changed or gone since the last sighting is drift. */
  private async relist(): Promise<void> {
    this.counts.lists++;
    const list = await this.o.client.json<{
      metadata: { resourceVersion: string };
      items: { metadata: ObjectMeta }[];
    }>('GET', `${this.o.collection}?${this.select()}`, {
      accept: metadataOnly.list, // a ConfigMap's data never crosses the wire
      signal: this.abort.signal,
    });
    // Also the first LIST reports: an object another writer has touched (an edit made before this
    // watch opened, e.g. while the operator restarted) and a desired object that is gone. A writer
    // whose fields git does not set stays in managedFields: one pass more per watch opened.
    const present = new Set<string>();
    for (const item of list.items) {
      present.add(item.metadata.name ?? '');
      this.observe(item.metadata);
    }
    for (const name of [...this.seen.keys()]) if (!present.has(name)) this.seen.delete(name);
    for (const name of this.desired) if (!present.has(name)) this.report({ name, deleted: true });
    this.rv = list.metadata.resourceVersion;
  }

  private async watch(): Promise<void> {
    const q = `${this.select()}&watch=1&allowWatchBookmarks=true`;
    const path = `${this.o.collection}?${q}&timeoutSeconds=${timeoutSeconds()}&resourceVersion=${this.rv}`;
    this.counts.watches++;
    const events = this.o.client.stream(path, this.abort.signal, {
      accept: metadataOnly.watch,
      opened: () => this.o.state(true),
    }) as AsyncGenerator<Event>;
    for await (const ev of events) {
      const meta = ev.object.metadata;
      if (ev.type === 'ERROR') {
        const code = ev.object.code ?? 0;
        throw new ApiError(code, 'WatchError', ev.object.message ?? `watch error ${code}`);
      }
      if (meta?.resourceVersion) this.rv = meta.resourceVersion;
      if (!meta || ev.type === 'BOOKMARK') continue;
      if (ev.type === 'DELETED') this.gone(meta.name ?? '');
      else this.observe(meta);
    }
  }

  private select(): string {
    return this.o.select ?? `labelSelector=${encodeURIComponent(selector)}`;
  }

  private observe(meta: ObjectMeta): void {
    const name = meta.name ?? '';
    const before = this.seen.get(name);
    const rv = meta.resourceVersion;
    if (this.o.judge) {
      this.seen.set(name, { rv, judged: { ...(meta.annotations ? { annotations: meta.annotations } : {}) } });
      if (before?.rv === rv || !this.desired.has(name)) return;
      if (this.o.judge(before?.judged, meta)) this.report({ name, by: 'suspend or resume' });
      return;
    }
    const sig = signature(meta);
    this.seen.set(name, { rv, sig });
    if (before?.rv === rv || !this.desired.has(name)) return;
    // First sighting of a desired object (the first LIST, or an ADDED): another writer's entry is drift.
    const drift = before ? isDrift(before.sig, sig) : sig.writers.length > 0;
    if (drift) this.report({ name, by: sig.writers.at(-1) });
  }

  private gone(name: string): void {
    this.seen.delete(name);
    if (this.desired.has(name)) this.report({ name, deleted: true });
  }

  private report(s: Omit<DriftSighting, 'kind'>): void {
    this.o.drifted({ kind: this.o.kind, ...s });
  }
}
