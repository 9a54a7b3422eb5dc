// I5 every outcome reaches each sink once: the run's operator also sends every outcome to a
// generic webhook (signed; a receiver of ours checks the HMAC). At quiescence, per namespace:
// - each S3 file has exactly one webhook delivery of the same Deployment, sha, state and reason,
//   and no delivery tells of an outcome S3 does not hold;
// - a delivery id arrives again only across a fault (a kill or an apiserver outage between the
//   send and the status write that records it: at-least-once, with an id to drop the repeat);
// - each commit told `pending` has exactly one final state (success, failure, superseded) unless it
//   is the one still rolling out, none has two, and a commit told `success` has no .failed file.
import type { Ctx, Report } from './invariants.ts';
import { parseKey, type VersionView } from './observe.ts';

/** A delivery the receiver accepted (its JSON and when). */
export interface SinkDelivery {
  at: number;
  json: Record<string, unknown>;
}

const finals = new Set(['success', 'failure', 'superseded']);

export function checkSink(
  ctx: Ctx,
  v: VersionView | undefined,
  got: readonly SinkDelivery[],
  report: Report,
): void {
  const mine = got.filter((d) => d.json.namespace === ctx.ns);
  checkRepeats(ctx, mine, report);
  const once = [...new Map(mine.map((d) => [String(d.json.id), d])).values()];
  checkDeployments(ctx, once, report);
  checkCommits(ctx, v, once, report);
}

function checkRepeats(ctx: Ctx, mine: readonly SinkDelivery[], report: Report): void {
  const first = new Map<string, number>();
  for (const d of mine) {
    const id = String(d.json.id);
    const at = first.get(id);
    if (at === undefined) {
      first.set(id, d.at);
      continue;
    }
    const explained = ctx.faults.some((f) => f.from <= d.at && f.to >= at);
    if (!explained)
      report('I5', `repeat ${id}`, `${id} was delivered twice (+${d.at - at} ms) with no fault in between`);
  }
}

/** The webhook's Deployment outcomes by `deployment/sha7[.failed]`. */
function hookOutcomes(once: readonly SinkDelivery[]): Map<string, Record<string, unknown>> {
  const hooks = new Map<string, Record<string, unknown>>();
  for (const { json } of once) {
    if (json.event !== 'deployment') continue;
    hooks.set(`${json.deployment}/${json.sha}${json.state === 'failed' ? '.failed' : ''}`, json);
  }
  return hooks;
}

/** The S3 files and the webhook's Deployment outcomes are the same set. */
function checkDeployments(ctx: Ctx, once: readonly SinkDelivery[], report: Report): void {
  const hooks = hookOutcomes(once);
  for (const [key, body] of ctx.keys) {
    const k = parseKey(key);
    if (!k) continue;
    const name = `${k.deployment}/${k.sha7}${k.failed ? '.failed' : ''}`;
    const hook = hooks.get(name);
    hooks.delete(name);
    if (!hook) report('I5', `no webhook ${key}`, `${key} is in S3 but the webhook never heard of it`);
    const reason = /^\S+ (\w+):/.exec(body)?.[1];
    if (hook && k.failed && hook.reason !== reason)
      report('I5', `reason ${key}`, `${key} says ${reason}, the webhook ${String(hook.reason)}`);
  }
  for (const name of hooks.keys())
    report('I5', `webhook only ${name}`, `${ctx.ns}: the webhook heard ${name}, S3 has no such file`);
}

function checkCommits(
  ctx: Ctx,
  v: VersionView | undefined,
  once: readonly SinkDelivery[],
  report: Report,
): void {
  const bySha = Map.groupBy(
    once.filter((d) => d.json.event === 'commit'),
    (d) => String(d.json.sha).slice(0, 7),
  );
  for (const [sha7, list] of bySha) {
    const states = list.map((d) => String(d.json.state));
    const ends = states.filter((s) => finals.has(s));
    if (ends.length > 1)
      report('I5', `two ends ${sha7}`, `${ctx.ns}: ${sha7} was told ${ends.join(' and ')}`);
    const rolling = v?.applied === sha7 && v.deployed !== sha7;
    if (states.includes('pending') && ends.length === 0 && !rolling)
      report('I5', `left pending ${sha7}`, `${ctx.ns}: ${sha7} was told pending and never how it ended`);
    if (
      states.indexOf('pending') > states.findIndex((s) => finals.has(s)) &&
      ends.length &&
      states.includes('pending')
    )
      report('I5', `pending late ${sha7}`, `${ctx.ns}: ${sha7} was told pending after ${ends[0]}`);
    const failedFile = [...ctx.keys.keys()].some((k) => k.endsWith(`/${sha7}.failed`));
    if (states.includes('success') && failedFile)
      report(
        'I5',
        `success with failure ${sha7}`,
        `${ctx.ns}: ${sha7} told success, but S3 holds a .failed file of it`,
      );
  }
}
