// Sends what the sinks owe: each sink's deliveries in order, the sinks side by side, so a slow or
// dead sink delays neither another sink nor (past the caller's budget) the sync. A failed delivery
// stays pending; a sink with a retry policy backs off (with jitter) before the next try, and a
// failure, or a delivery still backing off, ends that sink's turn: its deliveries go in order. A
// delivery the target refused for good (a 4xx other than auth and throttling) is dropped.
import { failpoint } from '../failpoint.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { redact } from '../source/redact.ts';
import { DeliveryError } from './http.ts';
import { type Delivery, retryDelayMs, type Sink, sinkOf } from './sink.ts';

/**
 * A backing-off sink's backlog is kept to this many deliveries: the oldest beyond are dropped, with
 * an error log. S3 (no retry policy: CI waits on each file) keeps all of its own.
 */
export const backlogLimit = 100;

/** A delivery refused with a 4xx (not auth or throttling) this many times is dropped. */
export const refusedTries = 4;

export interface DispatchDeps {
  sinks: readonly Sink[];
  log: Logger;
  metrics?: Metrics | undefined;
  /** For the failpoints (test knobs around a delivery). */
  namespace: string;
}

export interface DispatchOptions {
  /** Ends the flush: what is not sent by then stays pending (a budget, a shutdown, a newer commit). */
  signal?: AbortSignal | undefined;
  /** The part of `signal` that is the pass stopping: a send it cuts short is no failed attempt. */
  stop?: AbortSignal | undefined;
  /** A bounded flush on the way: sinks that must not be cut short (`onTheWay: false`) wait. */
  onTheWay?: boolean;
  /**
   * Only a shutdown cuts a request to an `onTheWay: false` sink short once it is sent (a newer
   * commit does not: the target cannot drop the repeat a cut request would cause).
   */
  shutdown?: AbortSignal | undefined;
  now?: number;
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

/** Sends every delivery that is due, each sink's in order and the sinks side by side. */
export async function dispatch<D extends Delivery>(
  pending: readonly D[],
  deps: DispatchDeps,
  opts: DispatchOptions = {},
): Promise<Dispatched<D>> {
  const now = opts.now ?? Date.now();
  const results = new Map<D, Result<D>>();
  const bySink = Map.groupBy(pending, (d) => d.sink ?? 's3');
  await Promise.all(
    [...bySink.values()].map(async (list) => {
      const sink = list[0] && sinkOf(deps.sinks, list[0]);
      let down = opts.onTheWay === true && sink?.onTheWay === false;
      for (const d of list) {
        // In order: a commit's `success` must never overtake its `pending` at the git host.
        down ||= !!d.retryAt && Date.parse(d.retryAt) > now;
        if (down || opts.signal?.aborted) {
          results.set(d, { kept: d, tried: false });
          continue;
        }
        const r = await sendOne(d, deps, opts, now);
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
  opts: DispatchOptions,
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
    await sink.send(d, sink.onTheWay === false ? opts.shutdown : opts.signal);
    failpoint('after-s3', deps.namespace);
    deps.log.info({ key: d.key }, s3 ? 'S3 file written' : `${sink.name} delivery sent`);
    count(deps, sink, 'ok');
    return { sent: true };
  } catch (err) {
    return failed(d, sink, err as Error, { deps, opts, now });
  }
}

function failed<D extends Delivery>(
  d: D,
  sink: Sink,
  err: Error,
  at: { deps: DispatchDeps; opts: DispatchOptions; now: number },
): Result<D> {
  const { deps, opts, now } = at;
  const what = sink.name === 's3' ? 'S3 write' : `${sink.name} delivery`;
  const why = redact(err.message);
  // The pass stopping (shutdown, newer commit) is no verdict on the sink: the next flush sends it.
  if (opts.stop?.aborted) {
    deps.log.debug({ key: d.key }, `${what} cut short by the pass stopping`);
    return { kept: d, tried: false };
  }
  count(deps, sink, 'error');
  const attempts = (d.attempts ?? 0) + 1;
  // A 4xx may pass later (a commit the host has not received yet, a token given access): dropped
  // only after a few tries, so that it cannot hold the sink's later deliveries for long.
  if (err instanceof DeliveryError && err.permanent && attempts >= refusedTries) {
    deps.log.error({ key: d.key }, `${what} refused ${attempts} times, dropped: ${why}`);
    count(deps, sink, 'dropped');
    return { dropped: true };
  }
  const retryAt = sink.retry ? new Date(now + retryDelayMs(sink.retry, attempts)).toISOString() : undefined;
  const when = retryAt ? `retry after ${retryAt}` : 'will retry';
  deps.log.warn({ key: d.key, attempts }, `${what} failed, ${when}: ${why}`);
  return { kept: retryAt ? { ...d, attempts, retryAt } : d, tried: !!retryAt };
}

function count(deps: DispatchDeps, sink: Sink, result: 'ok' | 'error' | 'dropped'): void {
  deps.metrics?.deliveries.inc({ sink: sink.name, result });
  if (sink.name === 's3' && result !== 'dropped') deps.metrics?.s3Writes.inc({ result });
}

/** Each backing-off sink keeps its newest `backlogLimit` deliveries: a sink down for days cannot grow the status without end. */
function capBacklogs<D extends Delivery>(left: D[], deps: DispatchDeps): D[] {
  const bySink = Map.groupBy(left, (d) => d.sink ?? 's3');
  const drop = new Set<D>();
  for (const [name, list] of bySink) {
    const sink = deps.sinks.find((s) => s.name === name);
    if (!sink?.retry || list.length <= backlogLimit) continue;
    const old = list.slice(0, list.length - backlogLimit);
    for (const d of old) drop.add(d);
    deps.log.error(
      { sink: name, dropped: old.length },
      `${name}: backlog over ${backlogLimit}: oldest deliveries dropped`,
    );
    for (const _ of old) count(deps, sink, 'dropped');
  }
  return drop.size ? left.filter((d) => !drop.has(d)) : left;
}
