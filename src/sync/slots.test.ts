import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Slots } from './slots.ts';

const take = async (slots: Slots, signal?: AbortSignal) => {
  const release = await slots.take(signal);
  assert.ok(release, 'no slot granted');
  return release;
};

test('at most `size` holders at once; a release (once, however often called) lets the next in, in order', async () => {
  const slots = new Slots(2);
  const order: string[] = [];
  const a = await take(slots);
  const b = await take(slots);
  const c = take(slots).then((r) => {
    order.push('c');
    return r;
  });
  const d = take(slots).then((r) => {
    order.push('d');
    return r;
  });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, [], 'a third holder got in while two held');
  a();
  a(); // a second release of the same slot frees nothing more
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ['c']);
  b();
  await d;
  assert.deepEqual(order, ['c', 'd']);
  (await c)();
  (await d)();
  // Both free again: two takes resolve at once.
  await Promise.all([take(slots), take(slots)]);
});

test('a waiter whose signal aborts leaves the queue with nothing; the slot goes to the next', async () => {
  const slots = new Slots(1);
  const held = await take(slots);
  const stop = new AbortController();
  const stopped = slots.take(stop.signal);
  const next = slots.take();
  stop.abort();
  assert.equal(await stopped, undefined);
  held();
  const r = await next;
  assert.ok(r, 'the next waiter did not get the slot');
  assert.equal(await slots.take(AbortSignal.abort()), undefined, 'an aborted signal takes nothing');
});
