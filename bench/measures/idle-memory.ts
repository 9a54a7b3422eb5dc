// 3 + 5. a running operator: idle cost per interval, RSS idle and at memObjects.
// Idle without the drift watch (DRIFT_WATCH=false; the default's figures are the drift measure's):
// polls at 0.5 s, with a drift check at every poll, and with DRIFT_INTERVAL=300 (an idle poll is
// then one ls-remote).
import { setTimeout as sleep } from 'node:timers/promises';
import { type Bench, memObjects, type Result, round, runningOperator } from '../setup.ts';

export const name = 'idle and memory';

export async function run(b: Bench): Promise<Result[]> {
  const results: Result[] = [];
  for (const drift of [300, 0.5]) results.push(...(await idle(b, drift)));
  const mem = await runningOperator(b, 'mem', { interval: 60 });
  const m1 = await mem.sample();
  results.push({
    measure: `RSS after syncing ${memObjects} objects`,
    value: round(m1.rss / 1024),
    unit: 'MiB',
    note: `peak ${round(m1.hwm / 1024)} MiB`,
  });
  await mem.stop();
  return results;
}

async function idle(b: Bench, drift: number): Promise<Result[]> {
  const op = await runningOperator(b, 'idle', {
    interval: 0.5,
    extra: { DRIFT_WATCH: 'false', DRIFT_INTERVAL: String(drift) },
  });
  await sleep(2000);
  const s0 = await op.sample();
  await sleep(5000);
  const s1 = await op.sample();
  await op.stop();
  const intervals = s1.lsRemote - s0.lsRemote;
  const cpu = round(((s1.cpu - s0.cpu) / Math.max(1, intervals)) * 1000);
  if (drift !== 300) {
    return [
      {
        measure: 'idle: operator CPU per interval, DRIFT_WATCH=false, drift check every poll',
        value: cpu,
        unit: 'ms',
        note: 'ls-remote + drift check: Version GET, one LIST per kind, 10 objects compared',
      },
    ];
  }
  return [
    {
      measure: 'idle: git ls-remote per interval',
      value: round(intervals / 10),
      unit: 'calls',
      note: `${intervals} in 5 s at GIT_SYNC_INTERVAL=0.5`,
    },
    { measure: 'idle: git fetches while idle', value: s1.fetch - s0.fetch, unit: 'calls' },
    {
      measure: 'idle: operator CPU per interval, DRIFT_WATCH=false, DRIFT_INTERVAL=300',
      value: cpu,
      unit: 'ms',
      note: 'one ls-remote (a forked git costs this VM 6-10 ms of the parent CPU)',
    },
    { measure: 'RSS idle (10 objects)', value: round(s1.rss / 1024), unit: 'MiB' },
  ];
}
