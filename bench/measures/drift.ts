// 7. drift by watch, with the default settings (DRIFT_WATCH): a hand edit → repaired (median of
// 10), and what an idle interval costs: operator CPU and apiserver requests (apiserver_request_total,
// less the same window's count with no operator running).
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../../testbed/proc.ts';
import { type Bench, log, median, type Result, round, runningOperator } from '../setup.ts';

export const name = 'drift';

const edits = 10;
const window = 5000;
/** Polls every 0.5 s: an hour of 10-s polls compressed, as many intervals in 5 s as in 50 s. */
const interval = 0.5;

export async function run(b: Bench): Promise<Result[]> {
  const quiet = await requestsIn(b, window); // kwok and the controllers, no operator
  const op = await runningOperator(b, 'idle', { interval });
  await sleep(3000); // settled at the head, its watches open
  const s0 = await op.sample();
  const busy = await requestsIn(b, window);
  const s1 = await op.sample();
  const intervals = Math.max(1, s1.lsRemote - s0.lsRemote);
  const repaired: number[] = [];
  const cm = await firstConfigMap(b);
  for (let i = 0; i < edits; i++) repaired.push(await editRepaired(b, cm, i));
  await op.stop();
  log(`drift: repaired in ${JSON.stringify(repaired.map(round))} s`);
  return [
    {
      measure: 'drift: hand edit → repaired, default settings (watch)',
      value: round(median(repaired)),
      unit: 's',
      note: `median of ${edits}, a ConfigMap's data patched by another writer; Flux repairs at the Kustomization's next interval (its examples: 10 m, so 5 m on average)`,
    },
    {
      measure: 'idle: apiserver requests per interval, default settings',
      value: round(Math.max(0, busy - quiet) / intervals),
      unit: 'requests',
      note: `${busy} with the operator in ${window / 1000} s, ${quiet} without (kwok, controllers); ${intervals} polls`,
    },
    {
      measure: 'idle: operator CPU per interval, default settings',
      value: round(((s1.cpu - s0.cpu) / intervals) * 1000),
      unit: 'ms',
      note: 'one ls-remote; the open watches cost nothing while nothing changes',
    },
  ];
}

/** Every request the apiserver served in the next `ms` (its own counter, all verbs, watches included). */
async function requestsIn(b: Bench, ms: number): Promise<number> {
  const count = async () => {
    const res = await b.cp.request('GET', '/metrics', undefined, 'text/plain');
    return String(res.body)
      .split('\n')
      .filter((l) => l.startsWith('apiserver_request_total{') && !l.includes('resource=""'))
      .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  };
  const before = await count();
  await sleep(ms);
  // This read itself is one request (resource="" is /metrics and other non-resource URLs: excluded).
  return (await count()) - before;
}

/** A ConfigMap of ours in `idle` and one of its keys with the value git gives it. */
async function firstConfigMap(b: Bench): Promise<{ name: string; key: string; value: string }> {
  const res = await b.cp.request(
    'GET',
    '/api/v1/namespaces/idle/configmaps?labelSelector=git-sync-operator.mozilla.org%2Fmanaged-by',
  );
  const items = (res.body as { items: { metadata: { name: string }; data?: Record<string, string> }[] })
    .items;
  const cm = items.find((i) => Object.keys(i.data ?? {}).length);
  const [key, value] = Object.entries(cm?.data ?? {})[0] ?? [];
  if (!cm || key === undefined || value === undefined)
    throw new Error('no ConfigMap of ours with data in namespace idle');
  return { name: cm.metadata.name, key, value };
}

/** Another writer changes a value git sets; the time until it is git's again. */
async function editRepaired(
  b: Bench,
  cm: { name: string; key: string; value: string },
  i: number,
): Promise<number> {
  const path = `/api/v1/namespaces/idle/configmaps/${cm.name}`;
  await b.cp.request('PATCH', path, { data: { [cm.key]: `hand-edit-${i}` } }, 'application/merge-patch+json');
  const t = performance.now();
  await waitFor(
    'drift repaired',
    async () => {
      const res = await b.cp.request('GET', path);
      return (res.body as { data?: Record<string, string> }).data?.[cm.key] === cm.value ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 10 },
  );
  return (performance.now() - t) / 1000;
}
