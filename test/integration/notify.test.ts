// The sinks beyond S3, end to end: the generic webhook (signed) and Slack hear every outcome once —
// a deploy, a refused commit, a superseded one — a dead or hung sink delays neither the sync nor
// another sink, and a restart neither loses nor repeats a delivery. Real control plane, git, MinIO;
// the receivers check the HMAC signature like a team's endpoint would.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { short } from '../../src/source/sha.ts';
import { inlineDeliveryMs } from '../../src/version/recorder.ts';
import { waitFor } from '../../testbed/proc.ts';
import { appFiles } from '../../testbed/seed.ts';
import { type Receiver, startReceiver } from '../support/receiver.ts';
import { startWorld, type World } from '../support/world.ts';

const ns = 'app';
const folder = `iowa-a/${ns}`;
const hmacKey = 'hmac-k3y-for-tests';
const slackPath = '/services/T000/B000/SLACKSECRETPATH';
let w: World;
let hook: Receiver;
let slack: Receiver;

const api = (image: string, podSpec?: Record<string, unknown>) =>
  appFiles(folder, 'api', { image, replicas: 1, ...(podSpec ? { podSpec } : {}) });

before(async () => {
  [w, hook, slack] = await Promise.all([
    startWorld({ namespaces: [ns], files: { 'README.md': 'config\n', ...api('example/api:1') } }),
    startReceiver(hmacKey),
    startReceiver(),
  ]);
});
after(async () => {
  await Promise.allSettled([w?.stop(), hook?.stop(), slack?.stop()]);
});

const sinkEnv = () => ({
  GIT_SYNC_INTERVAL: '1',
  NOTIFY_WEBHOOK_URL: `${hook.url}/deploys`,
  NOTIFY_WEBHOOK_SECRET: hmacKey,
  SLACK_WEBHOOK_URL: `${slack.url}${slackPath}`,
  STATUS_PAGE_URL: 'https://deploys.example.com/iowa-a',
});

/** What the webhook accepted about `sha`, as `event:state[:deployment]`, in arrival order. */
const heard = (sha: string) =>
  hook.accepted
    .filter((r) => short(String(r.json.sha)) === short(sha))
    .map((r) => `${r.json.event}:${r.json.state}${r.json.deployment ? `:${r.json.deployment}` : ''}`);

const slackSaid = (sha: string) =>
  slack.accepted.map((r) => String(r.json.text)).filter((t) => t.includes(short(sha)));

async function heardAll(sha: string, want: string[], what: string) {
  await waitFor(what, async () => (want.every((e) => heard(sha).includes(e)) ? true : undefined), {
    timeoutMs: 90_000,
    intervalMs: 100,
  });
}

/** After a few more polls nothing about `sha` was told again. */
async function quietAfter(sha: string, polls = 3) {
  const [h, s] = [heard(sha).length, slackSaid(sha).length];
  await sleep(polls * 1000 + 500);
  assert.deepEqual([heard(sha).length, slackSaid(sha).length], [h, s], `${short(sha)} told again`);
}

test('a deploy: pending, each Deployment, success — once each, signed; Slack hears it once', async () => {
  await w.withOperator(sinkEnv(), async () => {
    const sha = await w.repo.commit(api('example/api:2'), 'api 2');
    await heardAll(sha, ['commit:pending', 'deployment:deployed:api', 'commit:success'], 'the deploy heard');
    assert.deepEqual(heard(sha), ['commit:pending', 'deployment:deployed:api', 'commit:success']);
    assert.ok(await w.s3.getObject(`iowa-a/${ns}/api/${short(sha)}`), 'the S3 file too');
    const success = hook.accepted.find((r) => r.json.sha === sha && r.json.state === 'success');
    assert.equal(success?.json.subject, 'api 2');
    assert.equal(success?.json.url, 'https://deploys.example.com/iowa-a#ns-app');
    assert.equal(success?.headers['x-delivery-id'], `iowa-a/${ns}/commit/${short(sha)}/success`);
    await waitFor('Slack heard the deploy', async () => (slackSaid(sha).length ? true : undefined), {
      timeoutMs: 30_000,
    });
    assert.match(
      slackSaid(sha)[0] ?? '',
      /^:white_check_mark: \*iowa-a\/app\* deployed <https:\/\/deploys.example.com\/iowa-a#ns-app\|[0-9a-f]{7}> — api 2/,
    );
    await quietAfter(sha);
    assert.deepEqual(hook.refused, [], 'every request was signed right');
  });
});

test('a refused commit: failure with file:line at once, for the commit and its Deployment, told once', async () => {
  await w.withOperator(sinkEnv(), async () => {
    const bad = await w.repo.commit(
      api('example/api:3', { restartPolicy: 'Sometimes' }),
      'bad restartPolicy',
    );
    await heardAll(bad, ['commit:failure', 'deployment:failed:api'], 'the refusal heard');
    const failure = hook.accepted.find((r) => r.json.sha === bad && r.json.event === 'commit');
    assert.match(String(failure?.json.description), /^DryRunRejected: .*deploy\.yaml:\d+/);
    assert.ok(!heard(bad).includes('commit:pending'), 'never applied, never pending');
    await waitFor('Slack heard the failure', async () => (slackSaid(bad).length ? true : undefined), {
      timeoutMs: 30_000,
    });
    assert.match(slackSaid(bad)[0] ?? '', /^:x: .* failed to deploy .*\n> DryRunRejected: /);
    await quietAfter(bad); // the same head fails again at every poll: told once
    const fixed = await w.repo.commit(api('example/api:3'), 'api 3');
    await heardAll(fixed, ['commit:pending', 'commit:success'], 'the fix heard');
  });
});

test('a commit overtaken while rolling out is superseded, not left pending', async () => {
  await w.withOperator(sinkEnv(), async () => {
    const stuck = await w.repo.commit(api('example/api:4', { nodeSelector: { disk: 'none' } }), 'stuck');
    await heardAll(stuck, ['commit:pending'], 'the stuck commit pending');
    const next = await w.repo.commit(api('example/api:5'), 'api 5');
    await heardAll(next, ['commit:pending', 'commit:success'], 'the next commit deployed');
    await heardAll(stuck, ['commit:superseded', 'deployment:failed:api'], 'the stuck commit superseded');
    const sup = hook.accepted.find((r) => r.json.sha === stuck && r.json.state === 'superseded');
    assert.equal(sup?.json.description, `Superseded by ${short(next)} before it became healthy`);
    assert.deepEqual(slackSaid(stuck), [], 'Slack is not told of a superseded commit');
  });
});

test('a hung webhook and a dead Slack delay neither the sync nor S3; back, each gets every outcome once', async () => {
  hook.mode = 'hang';
  slack.mode = 'fail';
  await w.withOperator(sinkEnv(), async () => {
    // Its pods are ready 6 s after they run: the webhook's `pending` (sent at the apply) has hung,
    // timed out and is due again when the Deployment becomes healthy.
    const sha = await w.repo.commit(
      appFiles(folder, 'api', { image: 'example/api:6', replicas: 1, minReadySeconds: 6 }),
      'api 6',
    );
    const key = `iowa-a/${ns}/api/${short(sha)}`;
    await waitFor('the S3 file', () => w.s3.getObject(key), { timeoutMs: 60_000, intervalMs: 50 });
    assert.ok(hook.hungAt.length > 0, 'the webhook was called (and hangs)');
    // Queued behind the hung webhook, the file would wait at least the delivery budget (2 s).
    const late = loggedAt('S3 file written', key) - loggedAt('outcomes decided', `api/${short(sha)}`);
    assert.ok(
      late < inlineDeliveryMs * 0.75, // queued behind the hung webhook: the whole 2-s budget first
      `the S3 file was written ${late} ms after the Deployment was healthy`,
    );
    await w.waitVersion(ns, 'deployed', (v) => v.deployed === short(sha));
    assert.deepEqual(heard(sha), [], 'nothing accepted while down');
    await w.waitVersion(ns, 'Slack backing off', (v) =>
      (v.status?.pending ?? []).some((d) => d.sink === 'slack' && (d.attempts ?? 0) >= 1 && !!d.retryAt),
    );
    hook.mode = 'ok';
    slack.mode = 'ok';
    await heardAll(sha, ['commit:pending', 'deployment:deployed:api', 'commit:success'], 'heard once back');
    assert.deepEqual(heard(sha), ['commit:pending', 'deployment:deployed:api', 'commit:success'], 'in order');
    await waitFor('Slack heard', async () => (slackSaid(sha).length ? true : undefined), {
      timeoutMs: 60_000,
    });
    await quietAfter(sha);
    assert.equal(slackSaid(sha).length, 1);
    assert.ok(slack.refused.length >= 1, 'Slack was tried while down');
  });
});

test('a restart neither loses nor repeats: what one operator owed, the next one sends, once', async () => {
  hook.mode = 'fail';
  let sha = '';
  await w.withOperator(sinkEnv(), async () => {
    sha = await w.repo.commit(api('example/api:7'), 'api 7');
    await w.waitVersion(ns, 'deployed', (v) => v.deployed === short(sha));
  });
  assert.deepEqual(heard(sha), []);
  hook.mode = 'ok';
  await w.withOperator(sinkEnv(), async () => {
    await heardAll(sha, ['commit:pending', 'deployment:deployed:api', 'commit:success'], 'sent by the next');
    await quietAfter(sha);
  });
  await w.withOperator(sinkEnv(), () => quietAfter(headOf(), 3));
});

test('no delivery id was accepted twice, and no secret reached the logs', () => {
  const ids = hook.accepted.map((r) => String(r.json.id));
  assert.deepEqual(
    ids.filter((id, i) => ids.indexOf(id) !== i),
    [],
  );
  const texts = slack.accepted.map((r) => String(r.json.text));
  assert.deepEqual(
    texts.filter((t, i) => texts.indexOf(t) !== i),
    [],
  );
  const log = w.logs.join('\n');
  for (const secret of ['SLACKSECRETPATH', hmacKey]) assert.ok(!log.includes(secret), `${secret} logged`);
});

/** When the operator first logged `msg` with `has` in the line. */
function loggedAt(msg: string, has: string): number {
  const line = w.logs.find((l) => l.includes(`"${msg}"`) && l.includes(has));
  assert.ok(line, `logged: ${msg} ${has}`);
  return Date.parse(JSON.parse(line).time);
}

const headOf = () => String(hook.accepted.at(-1)?.json.sha ?? '');
