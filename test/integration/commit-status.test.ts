// Commit statuses on a real git host: the config repo lives on Gitea, the operator follows it over
// HTTP with a token (woken by Gitea's signed push webhook) and sets `git-sync-operator/<cluster>/
// <namespace>` on each commit — pending when applied, success when deployed, failure with the
// reason, a warning when superseded — once per state, across a restart. Read back through Gitea's
// API. The GitHub provider is driven against Gitea's GitHub-shaped endpoint (base URL + auth header).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { short } from '../../src/source/sha.ts';
import { waitFor } from '../../testbed/proc.ts';
import { appFiles } from '../../testbed/seed.ts';
import { type GiteaBed, giteaBed } from '../support/gitea-bed.ts';

const ns = 'app';
const folder = `iowa-a/${ns}`;
const context = `git-sync-operator/iowa-a/${ns}`;
const page = 'https://deploys.example.com/iowa-a';
let bed: GiteaBed;

const api = (image: string, podSpec?: Record<string, unknown>) =>
  appFiles(folder, 'api', { image, replicas: 1, ...(podSpec ? { podSpec } : {}) });

before(async () => {
  bed = await giteaBed({ namespaces: [ns], files: { 'README.md': 'config\n', ...api('example/api:1') } });
});
after(async () => {
  await bed?.stop();
});

/** The operator's statuses on `sha` as `state: description`, oldest first. */
async function statuses(sha: string) {
  const all = await bed.gitea.statuses(bed.repo, sha);
  return all.filter((s) => s.context === context);
}
const states = async (sha: string) => (await statuses(sha)).map((s) => s.state);

async function waitStates(sha: string, want: string[], what: string) {
  return waitFor(
    what,
    async () => {
      const got = await states(sha);
      return got.join() === want.join() ? got : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

const giteaStatusEnv = () => ({
  MANAGED_NAMESPACES: ns,
  COMMIT_STATUS_PROVIDER: 'gitea',
  COMMIT_STATUS_TOKEN: bed.gitea.token,
  STATUS_PAGE_URL: page,
});

test('pending, then success, on the commit itself; a refused one fails with its reason; a restart repeats nothing', async () => {
  const { op } = await bed.startOperator('status-gitea', giteaStatusEnv());
  const c1 = await bed.commit(api('example/api:2'), 'api 2');
  await waitStates(c1, ['pending', 'success'], 'c1 pending then success');
  const [pending, success] = await statuses(c1);
  assert.equal(pending?.description, `applied ${short(c1)}`);
  assert.equal(success?.description, `${short(c1)} is healthy: every workload rolled out`);
  assert.equal(success?.target_url, `${page}#ns-${ns}`);
  assert.equal(success?.creator, bed.gitea.user, 'set with the token of COMMIT_STATUS_TOKEN');

  const bad = await bed.commit(api('example/api:3', { restartPolicy: 'Sometimes' }), 'bad restartPolicy');
  await waitStates(bad, ['failure'], 'the refused commit failed');
  assert.match((await statuses(bad))[0]?.description ?? '', /^DryRunRejected: .*deploy\.yaml:\d+/);

  // The same head fails again at every pass, and a new process starts from the Version: no repeat.
  const firstLogs = await op.output();
  await op.stop();
  const { op: again } = await bed.startOperator('status-gitea-2', giteaStatusEnv());
  // Its first pass at the refused head has ended (deliveries included) when it is counted.
  await waitFor('the restarted operator’s first pass', async () => {
    const res = await fetch(`${again.url}/metrics`).catch(() => undefined);
    const text = res?.ok ? await res.text() : '';
    return /gso_syncs_total\{namespace="app",result="failed"\} [1-9]/.test(text) ? true : undefined;
  });
  assert.deepEqual(await states(c1), ['pending', 'success']);
  assert.deepEqual(await states(bad), ['failure']);
  const logs = firstLogs + (await again.output());
  assert.ok(logs.includes('commit-status delivery sent'), 'the logs are the operators’');
  assert.ok(!logs.includes(bed.gitea.token), 'the token was logged');
  await again.stop();
});

test('a commit overtaken while rolling out gets Gitea’s warning, not a pending for ever', async () => {
  const { op } = await bed.startOperator('status-gitea-3', giteaStatusEnv());
  const stuck = await bed.commit(api('example/api:4', { nodeSelector: { disk: 'none' } }), 'stuck');
  await waitStates(stuck, ['pending'], 'the stuck commit pending');
  const next = await bed.commit(api('example/api:5'), 'api 5');
  await waitStates(next, ['pending', 'success'], 'the next one deployed');
  await waitStates(stuck, ['pending', 'warning'], 'the stuck one superseded');
  assert.equal(
    (await statuses(stuck))[1]?.description,
    `Superseded by ${short(next)} before it became healthy`,
  );
  await op.stop();
});

test('the GitHub provider: GitHub’s path under the base URL, a Bearer token, GitHub’s state names', async () => {
  // Gitea serves GitHub's /repos/{owner}/{repo}/statuses/{sha} under /api/v1 and takes a Bearer
  // token: the base URL is all that differs (GitHub Enterprise: https://HOST/api/v3).
  const { op } = await bed.startOperator('status-github', {
    MANAGED_NAMESPACES: ns,
    COMMIT_STATUS_PROVIDER: 'github',
    COMMIT_STATUS_TOKEN: bed.gitea.token,
    COMMIT_STATUS_API_URL: `${bed.gitea.url}/api/v1`,
  });
  const stuck = await bed.commit(api('example/api:6', { nodeSelector: { disk: 'none' } }), 'stuck again');
  await waitStates(stuck, ['pending'], 'pending through the GitHub path');
  const next = await bed.commit(api('example/api:7'), 'api 7');
  await waitStates(next, ['pending', 'success'], 'success through the GitHub path');
  await waitStates(stuck, ['pending', 'error'], 'GitHub has no superseded state: error');
  assert.equal((await statuses(next))[1]?.target_url, '', 'no STATUS_PAGE_URL, no link');
  await op.stop();
});
