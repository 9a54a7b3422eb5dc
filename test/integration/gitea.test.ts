// A real git host: the operator follows a Gitea repository over HTTP with an access token, and
// Gitea's own signed push webhook makes it sync at once. Real control plane, MinIO, git and Gitea.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { short } from '../../src/source/sha.ts';
import { lsRemote } from '../../testbed/git.ts';
import { waitFor } from '../../testbed/proc.ts';
import { type GiteaBed, giteaBed } from '../support/gitea-bed.ts';
import { logLines } from '../support/processes.ts';

const ns = 'app';
const folder = `iowa-a/${ns}`;
let bed: GiteaBed;

const configMap = (value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  value: "${value}"\n`;
const deployment = (image: string) =>
  `${JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', labels: { app: 'api' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'api' } },
      template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image }] } },
    },
  })}\n`;

before(async () => {
  bed = await giteaBed({
    namespaces: [ns],
    files: {
      'README.md': 'config\n',
      [`${folder}/api.yaml`]: deployment('example/api:1'),
      [`${folder}/settings.yaml`]: configMap('1'),
    },
  });
});
after(async () => {
  await bed?.stop();
});

test('gitea fixture: the repo is served over HTTP with the token; statuses set through the API read back', async () => {
  const { gitea, repo } = bed;
  const sha = await bed.w.repo.head();
  assert.deepEqual(await lsRemote(gitea.cloneUrl(repo), gitea.auth), { HEAD: sha, 'refs/heads/main': sha });
  // Without credentials the private repo is not served.
  await assert.rejects(lsRemote(gitea.cloneUrl(repo)), /Authentication failed|could not read Username|401/);

  assert.deepEqual(await gitea.statuses(repo, sha), []);
  const set = [
    {
      state: 'pending',
      context: 'deploy/iowa-a',
      description: 'applying',
      target_url: 'http://example.invalid/1',
    },
    {
      state: 'success',
      context: 'deploy/iowa-a',
      description: 'applied',
      target_url: 'http://example.invalid/2',
    },
    { state: 'failure', context: 'ci/lint', description: 'lint failed', target_url: '' },
  ] as const;
  for (const s of set) {
    const created = await gitea.setStatus(repo, sha, s);
    assert.equal(created.state, s.state);
  }
  const read = await gitea.statuses(repo, sha);
  assert.deepEqual(
    read.map(({ state, context, description, target_url, creator }) => ({
      state,
      context,
      description,
      target_url,
      creator,
    })),
    set.map((s) => ({ ...s, creator: gitea.user })),
    'every status, oldest first',
  );
  const combined = await gitea.combinedStatus(repo, sha);
  assert.equal(combined.sha, sha);
  assert.equal(combined.state, 'failure', 'the worst of the newest status per context');
  assert.deepEqual(combined.statuses.map((s) => `${s.context}=${s.state}`).sort(), [
    'ci/lint=failure',
    'deploy/iowa-a=success',
  ]);
});

test('the operator follows Gitea with a token; Gitea’s signed push webhook applies a commit in seconds; a wrongly signed one is refused; the token is never logged', async () => {
  const { w, gitea, repo } = bed;
  const first = await w.repo.head();
  const { op, hookId } = await bed.startOperator('gitea', { MANAGED_NAMESPACES: ns });
  await w.waitVersion(ns, 'the first commit applied from Gitea', (v) => v.applied === short(first));
  assert.deepEqual(await w.names(ns, 'deployments'), ['api']);
  const syncs = async () => (await op.logs()).filter((l) => l.msg === 'webhook: syncing now').length;
  assert.equal(await syncs(), 0, 'a webhook arrived before any push');

  // Only Gitea's webhook can explain a sync within seconds: the interval is an hour.
  const second = await bed.commit({ [`${folder}/api.yaml`]: deployment('example/api:2') }, 'api 2');
  const pushed = Date.now();
  await w.waitVersion(ns, 'the second commit applied', (v) => v.applied === short(second), 20_000);
  const seconds = (Date.now() - pushed) / 1000;
  assert.ok(seconds < 15, `the webhook sync took ${seconds} s`);
  assert.equal(await syncs(), 1, 'Gitea delivered one push webhook the operator accepted');
  const image = await w.kubectl(
    '-n',
    ns,
    'get',
    'deployment',
    'api',
    '-o',
    'jsonpath={.spec.template.spec.containers[0].image}',
  );
  assert.equal(image, 'example/api:2');

  // A delivery signed with another secret is refused and syncs nothing.
  await gitea.setWebhookActive(repo, hookId, false);
  await gitea.addPushWebhook(repo, `${op.url}/hooks/git`, 'not-the-secret');
  const third = await bed.commit({ [`${folder}/settings.yaml`]: configMap('3') }, 'settings 3');
  const refused = await waitFor(
    'the wrongly signed delivery refused',
    async () => (await op.logs()).find((l) => l.msg?.startsWith('webhook refused')),
    { timeoutMs: 20_000, service: op.svc },
  );
  assert.match(refused.msg ?? '', /^webhook refused: X-Gitea-Signature does not match$/);
  await sleep(3000);
  assert.equal(await syncs(), 1, 'the refused webhook woke the operator');
  assert.equal(
    (await w.version(ns))?.applied,
    short(second),
    `${short(third)} was applied without a webhook`,
  );

  const output = await op.output();
  assert.ok(logLines(output).length > 5, 'the operator logged');
  assert.ok(!output.includes(gitea.token), 'the Gitea token was logged');
  assert.ok(!output.includes(bed.webhookSecret), 'the webhook secret was logged');
});

test('a missing Gitea repository or a wrong token: `sync --once` exits 1 with one line naming the URL, never the token', async () => {
  const { w, gitea, repo } = bed;
  const wrongToken = 'f'.repeat(40);
  const cases = [
    { url: gitea.cloneUrl({ ...repo, name: 'missing' }, true), secret: gitea.token, why: /not found/ },
    {
      url: gitea.cloneUrl(repo, true).replace(gitea.token, wrongToken),
      secret: wrongToken,
      why: /Authentication failed/,
    },
  ];
  for (const c of cases) {
    const r = await w.cli(['sync', '--once'], bed.env({ CONFIG_REPO: c.url, MANAGED_NAMESPACES: ns }));
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const shown = c.url.replace(/\/\/[^@]+@/, '//');
    const line = r.stderr.split('\n').find((l) => l.includes(shown));
    assert.ok(line, `no line names ${shown}: ${r.stderr}`);
    assert.match(line, c.why);
    assert.ok(!(r.stdout + r.stderr).includes(c.secret), 'the token was printed');
  }
});
