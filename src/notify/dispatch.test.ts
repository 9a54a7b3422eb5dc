import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { backlogLimit, dispatch, refusedTries } from './dispatch.ts';
import { DeliveryError } from './http.ts';
import { type Delivery, retryDelayMs, type Sink } from './sink.ts';

const log = pino({ level: 'silent' });

/** A sink whose sends are recorded; `fail` says which keys throw, `delayMs` how long each takes. */
function sink(
  name: string,
  opts: { fail?: (key: string) => boolean; delayMs?: number; retry?: boolean } = {},
) {
  const sent: string[] = [];
  const s: Sink = {
    name,
    ...(opts.retry === false ? {} : { retry: { baseMs: 1000, capMs: 8000 } }),
    async send(d, signal) {
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      signal?.throwIfAborted();
      if (opts.fail?.(d.key)) throw new Error(`refused ${d.key}`);
      sent.push(d.key);
    },
  };
  return { s, sent };
}

const d = (sinkName: string, key: string, extra: Partial<Delivery> = {}): Delivery => ({
  sink: sinkName,
  key,
  body: key,
  ...extra,
});

describe('dispatch', () => {
  it('sends each sink in order, the sinks side by side: a slow sink holds no other', async () => {
    const slow = sink('slow', { delayMs: 300 });
    const fast = sink('fast');
    const pending = [d('slow', 's1'), d('fast', 'f1'), d('slow', 's2'), d('fast', 'f2')];
    const t0 = Date.now();
    let fastDoneAt = 0;
    const done = dispatch(pending, { sinks: [slow.s, fast.s], log, namespace: 'web' }).then((r) => r);
    while (fast.sent.length < 2) await new Promise((r) => setTimeout(r, 5));
    fastDoneAt = Date.now() - t0;
    const r = await done;
    assert.ok(fastDoneAt < 250, `the fast sink finished in ${fastDoneAt} ms, not after the slow one`);
    assert.deepEqual(slow.sent, ['s1', 's2']);
    assert.deepEqual(r.left, []);
    assert.equal(r.sent.length, 4);
  });

  it('a failure backs that sink off (with jitter) and leaves the rest of its queue untried', async () => {
    const down = sink('down', { fail: () => true });
    const up = sink('up');
    const now = Date.parse('2026-11-26T00:00:00Z');
    const r = await dispatch(
      [d('down', 'a'), d('down', 'b'), d('up', 'c')],
      { sinks: [down.s, up.s], log, namespace: 'web' },
      { now },
    );
    assert.deepEqual(up.sent, ['c']);
    assert.deepEqual(
      r.left.map((x) => [x.key, x.attempts]),
      [
        ['a', 1],
        ['b', undefined],
      ],
    );
    const wait = Date.parse(r.left[0]?.retryAt as string) - now;
    assert.ok(wait >= 500 && wait <= 1000, `first retry after ${wait} ms (base 1 s, jitter 50–100%)`);
    // Not due yet: untouched, and nothing to write.
    const again = await dispatch(
      r.left,
      { sinks: [down.s, up.s], log, namespace: 'web' },
      { now: now + 100 },
    );
    assert.equal(again.changed, false);
    assert.deepEqual(again.left, r.left);
  });

  it('a sink without a retry policy (S3) is tried again at the next flush', async () => {
    const s3 = sink('s3', { fail: () => true, retry: false });
    const r = await dispatch([{ key: 'k', body: 'b' }], { sinks: [s3.s], log, namespace: 'web' });
    assert.deepEqual(r.left, [{ key: 'k', body: 'b' }]);
    assert.equal(r.changed, false);
  });

  it('drops a delivery whose sink is no longer configured', async () => {
    const r = await dispatch([d('gone', 'x')], { sinks: [], log, namespace: 'web' });
    assert.deepEqual(r.left, []);
    assert.equal(r.changed, true);
  });

  it('a 4xx is retried a few times, then dropped, and the sink goes on with the next', async () => {
    const s: Sink = {
      name: 'host',
      retry: { baseMs: 1000, capMs: 8000 },
      async send(x) {
        if (x.key === 'bad') throw new DeliveryError('host: HTTP 422: no such commit', 422);
      },
    };
    const deps = { sinks: [s], log, namespace: 'web' };
    const first = await dispatch([d('host', 'bad'), d('host', 'good')], deps);
    assert.deepEqual(
      first.left.map((x) => [x.key, x.attempts]),
      [
        ['bad', 1],
        ['good', undefined],
      ],
      'kept, in order, backing off',
    );
    const last = await dispatch([d('host', 'bad', { attempts: refusedTries - 1 }), d('host', 'good')], deps);
    assert.deepEqual(last.left, []);
    assert.deepEqual(
      last.sent.map((x) => x.key),
      ['good'],
    );
    for (const status of [401, 403, 429, 500])
      assert.equal(new DeliveryError('x', status).permanent, false, `${status}`);
  });

  it('a send cut short by the pass stopping is no failed attempt; a bounded flush leaves Slack-like sinks for the last one', async () => {
    const stop = new AbortController();
    const hung: Sink = {
      name: 'hung',
      retry: { baseMs: 1000, capMs: 8000 },
      send: (_x, signal) =>
        new Promise((_ok, fail) => signal?.addEventListener('abort', () => fail(new Error('aborted')))),
    };
    setTimeout(() => stop.abort(), 20);
    const r = await dispatch(
      [d('hung', 'a')],
      { sinks: [hung], log, namespace: 'web' },
      { signal: stop.signal, stop: stop.signal },
    );
    assert.deepEqual(r.left, [d('hung', 'a')], 'no attempt counted, no backoff');
    const last = sink('last');
    const lastOnly: Sink = { ...last.s, onTheWay: false };
    const onTheWay = await dispatch(
      [d('last', 'x')],
      { sinks: [lastOnly], log, namespace: 'web' },
      { onTheWay: true },
    );
    assert.deepEqual([onTheWay.left.length, last.sent], [1, []]);
    await dispatch([d('last', 'x')], { sinks: [lastOnly], log, namespace: 'web' });
    assert.deepEqual(last.sent, ['x']);
  });

  it('a newer commit does not cut a Slack-like post short once sent (it could not drop the repeat); a shutdown does', async () => {
    const posted: string[] = [];
    const slow: Sink = {
      name: 'chat',
      retry: { baseMs: 1000, capMs: 8000 },
      onTheWay: false,
      send: (x, signal) =>
        new Promise((ok, fail) => {
          const t = setTimeout(() => ok(void posted.push(x.key)), 50);
          signal?.addEventListener('abort', () => {
            clearTimeout(t);
            fail(new Error('cut short'));
          });
        }),
    };
    const deps = { sinks: [slow], log, namespace: 'web' };
    const newer = new AbortController();
    setTimeout(() => newer.abort(), 10);
    const r = await dispatch([d('chat', 'm1')], deps, { signal: newer.signal, stop: newer.signal });
    assert.deepEqual([posted, r.left], [['m1'], []]);
    const shutdown = new AbortController();
    setTimeout(() => shutdown.abort(), 10);
    const cut = await dispatch([d('chat', 'm2')], deps, {
      signal: shutdown.signal,
      stop: shutdown.signal,
      shutdown: shutdown.signal,
    });
    assert.deepEqual([posted, cut.left.map((x) => x.key)], [['m1'], ['m2']]);
  });

  it('keeps every S3 file however long S3 is down (CI waits on each)', async () => {
    const s3 = sink('s3', { fail: () => true, retry: false });
    const many = Array.from({ length: backlogLimit + 7 }, (_, i) => ({ key: `k${i}`, body: '' }));
    const r = await dispatch(many, { sinks: [s3.s], log, namespace: 'web' });
    assert.equal(r.left.length, backlogLimit + 7);
  });

  it('keeps each backlog to its newest deliveries', async () => {
    const down = sink('down', { fail: () => true });
    const many = Array.from({ length: backlogLimit + 7 }, (_, i) => d('down', `k${i}`));
    const r = await dispatch(many, { sinks: [down.s], log, namespace: 'web' });
    assert.equal(r.left.length, backlogLimit);
    assert.equal(r.left.at(-1)?.key, `k${backlogLimit + 6}`);
    assert.equal(r.left[0]?.key, 'k7');
  });

  it('backoff doubles to its cap', () => {
    const p = { baseMs: 1000, capMs: 8000 };
    assert.deepEqual(
      [1, 2, 3, 4, 9].map((n) => retryDelayMs(p, n, () => 1)),
      [1000, 2000, 4000, 8000, 8000],
    );
    assert.equal(
      retryDelayMs(p, 3, () => 0),
      2000,
    );
  });
});
