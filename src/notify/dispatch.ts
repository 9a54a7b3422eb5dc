// Sends what the sinks owe: each sink's deliveries in order, the sinks side by side, so a slow or
// dead sink delays neither another sink nor (past the caller's budget) the sync. A failed delivery
// stays pending; a sink with a retry policy backs off (with jitter) before the next try, and one
// failure, or a delivery still backing off, ends that sink's turn: its deliveries go in order.
import { failpoint } from '../failpoint.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { redact } from '../source/redact.ts';
import { type Delivery, retryDelayMs, type Sink, sinkOf } from './sink.ts';

/** A sink's backlog is kept to this many deliveries: the oldest beyond are dropped, with a warning. */
export const backlogLimit = 100;

export interface DispatchDeps {
  sinks: readonly Sink[];
  log: Logger;
  metrics?: Metrics | undefined;
  /** For the failpoints (test knobs around a delivery). */
  namespace: string;
}

export interface Dispatched<D extends Delivery> {
  /** Sent now. */
  sent: D[];
  /** Still owed (failed ones with their attempt counted), in the order given. */
  left: D[];
  /** Whether anything was sent, dropped or retried (the status needs writing). */
  changed: boolean;
}

type Result<D> = { sent: true } | { dropped: true } | { kept: D; tried: boolean };

/** Sends every delivery that is due; `signal` (shutdown, newer commit, budget) leaves the rest pending. */
export async function dispatch<D extends Delivery>(
  pending: readonly D[],
  deps: DispatchDeps,
  signal?: AbortSignal,
  now = Date.now(),
): Promise<Dispatched<D>> {
  const results = new Map<D, Result<D>>();
  const bySink = Map.groupBy(pending, (d) => d.sink ?? 's3');
  await Promise.all(
    [...bySink.values()].map(async (list) => {
      let down = false;
      for (const d of list) {
        // In order: a commit's `success` must never overtake its `pending` at the git host.
        down ||= !!d.retryAt && Date.parse(d.retryAt) > now;
        if (down || signal?.aborted) {
          results.set(d, { kept: d, tried: false });
          continue;
        }
        const r = await sendOne(d, deps, signal, now);
        results.set(d, r);
        if ('kept' in r) down = true;
      }
    }),
  );
  return collect(pending, results, deps);
}

function collect<D extends Delivery>(
  pending: readonly D[],
  results: Map<D, Result<D>>,
  deps: DispatchDeps,
): Dispatched<D> {
  const sent: D[] = [];
  let left: D[] = [];
  let changed = false;
  for (const d of pending) {
    const r = results.get(d) ?? { kept: d, tried: false };
    if ('sent' in r) sent.push(d);
    if ('kept' in r) left.push(r.kept);
    changed ||= !('kept' in r) || r.tried;
  }
  const capped = capBacklogs(left, deps);
  changed ||= capped.length !== left.length;
  left = capped;
  return { sent, left, changed };
}

async function sendOne<D extends Delivery>(
  d: D,
  deps: DispatchDeps,
  signal: AbortSignal | undefined,
  now: number,
): Promise<Result<D>> {
  const sink = sinkOf(deps.sinks, d);
  if (!sink) {
    if (d.sink) deps.log.warn({ key: d.key, sink: d.sink }, 'sink no longer configured: delivery dropped');
    return { dropped: true };
  }
  const s3 = sink.name === 's3';
  try {
    failpoint('after-health', deps.namespace); // test knobs: killed just before, or just after, a delivery
    await sink.send(d, signal);
    failpoint('after-s3', deps.namespace);
    deps.log.info({ key: d.key }, s3 ? 'S3 file written' : `${sink.name} delivery sent`);
    count(deps, sink, 'ok');
    return { sent: true };
  } catch (err) {
    count(deps, sink, 'error');
    const attempts = (d.attempts ?? 0) + 1;
    const retryAt = sink.retry ? new Date(now + retryDelayMs(sink.retry, attempts)).toISOString() : undefined;
    const what = s3 ? 'S3 write' : `${sink.name} delivery`;
    const when = retryAt ? `retry after ${retryAt}` : 'will retry';
    deps.log.warn({ key: d.key, attempts }, `${what} failed, ${when}: ${redact((err as Error).message)}`);
    return { kept: retryAt ? { ...d, attempts, retryAt } : d, tried: !!retryAt };
  }
}

function count(deps: DispatchDeps, sink: Sink, result: 'ok' | 'error' | 'dropped'): void {
  deps.metrics?.deliveries.inc({ sink: sink.name, result });
  if (sink.name === 's3' && result !== 'dropped') deps.metrics?.s3Writes.inc({ result });
}

/** Each sink keeps its newest `backlogLimit` deliveries: a sink down for days cannot grow the status without end. */
function capBacklogs<D extends Delivery>(left: D[], deps: DispatchDeps): D[] {
  const bySink = Map.groupBy(left, (d) => d.sink ?? 's3');
  const drop = new Set<D>();
  for (const [name, list] of bySink) {
    if (list.length <= backlogLimit) continue;
    const old = list.slice(0, list.length - backlogLimit);
    for (const d of old) drop.add(d);
    deps.log.error(
      { sink: name, dropped: old.length },
      `${name}: backlog over ${backlogLimit}: oldest deliveries dropped`,
    );
    const sink = deps.sinks.find((s) => s.name === name);
    if (sink) for (const _ of old) count(deps, sink, 'dropped');
  }
  return drop.size ? left.filter((d) => !drop.has(d)) : left;
}
