// 4. commit → applied: polling every 2 s vs a webhook.
import { createHmac } from 'node:crypto';
import { short } from '../../src/source/sha.ts';
import { waitFor } from '../../testbed/proc.ts';
import { type Bench, cluster, median, type Result, reps, round, runningOperator } from '../setup.ts';

export const name = 'latency';

const secret = 'bench-secret';

export async function run(b: Bench): Promise<Result[]> {
  const lat = await runningOperator(b, 'idle', { interval: 2, webhookSecret: secret });
  const poll: number[] = [];
  const hook: number[] = [];
  for (let r = 0; r < reps; r++) {
    poll.push(await commitToApplied(b, `poll ${r}`));
    hook.push(await commitToApplied(b, `hook ${r}`, lat.port));
  }
  await lat.stop();
  return [
    { measure: 'commit → applied, polling every 2 s', value: round(median(poll)), unit: 's' },
    { measure: 'commit → applied, webhook', value: round(median(hook)), unit: 's' },
  ];
}

let latencyCount = 0;
async function commitToApplied(b: Bench, label: string, webhookPort?: number): Promise<number> {
  // One ConfigMap changes in the watched namespace: the commit is applied, not just recorded.
  const cm = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: latency}\ndata: {n: "${latencyCount++}"}\n`;
  const sha = await b.repo.commit({ [`${cluster}/idle/latency.yaml`]: cm }, label);
  const t = performance.now();
  if (webhookPort) {
    const body = JSON.stringify({ ref: 'refs/heads/main', after: sha });
    const sig = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    await fetch(`http://127.0.0.1:${webhookPort}/hooks/git`, {
      method: 'POST',
      body,
      headers: { 'x-hub-signature-256': sig },
    });
  }
  await waitFor(
    'applied',
    async () => {
      const res = await b.cp.request('GET', '/apis/versions.mozilla.org/v1/namespaces/idle/versions/idle');
      return (res.body as { applied?: string }).applied === short(sha) ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 20 },
  );
  return (performance.now() - t) / 1000;
}
