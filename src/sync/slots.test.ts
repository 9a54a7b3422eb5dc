import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Slots } from './slots.ts';

test('at most `size` holders at once; a release (once, however often called) lets the next in, in order', async () => {
  const slots = new Slots(2);
  const order: string[] = [];
  const a = await slots.take();
  const b = await slots.take();
  const c = slots.take().then((r) => {
    order.push('c');
    return r;
  });
  const d = slots.take().then((r) => {
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
  await Promise.all([slots.take(), slots.take()]);
});
