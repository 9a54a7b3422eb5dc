// Each HTTP sink's request, as a server on 127.0.0.1 receives it.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { commitStatusSink, type Provider } from './commit-status.ts';
import type { CommitEvent } from './sink.ts';
import { slackSink } from './slack.ts';
import { signature, webhookSink } from './webhook.ts';

interface Got {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}
const got: Got[] = [];
let answer = 201;
let answerBody = '{}';
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    got.push({ url: req.url ?? '', headers: req.headers, body });
    res.writeHead(answer, { 'content-type': 'application/json' }).end(answerBody);
  });
});
let base = '';
before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

const sha = '0123456789abcdef0123456789abcdef01234567';
const event = (state: CommitEvent['state'], description = 'applied 0123456'): CommitEvent => ({
  namespace: 'web',
  sha,
  state,
  description,
  subject: 'Bump <api> & co',
  author: 'Ada',
  at: '2026-11-26T03:00:00Z',
});

async function statusRequest(provider: Provider, state: CommitEvent['state']) {
  got.length = 0;
  answer = 201;
  const sink = commitStatusSink({
    provider,
    apiUrl: `${base}/`,
    repo: 'ops/config',
    token: 'tok-123',
    cluster: 'oregon',
    pageUrl: 'https://deploys.example.com',
  });
  const d = sink.renderCommit?.(event(state, 'x'.repeat(200)));
  assert.ok(d);
  await sink.send(d);
  const g = got[0] as Got;
  return { ...g, json: JSON.parse(g.body) as Record<string, string> };
}

describe('commit status', () => {
  it('GitHub: /repos/{repo}/statuses/{sha}, Bearer token, 140-character description', async () => {
    const g = await statusRequest('github', 'superseded');
    assert.equal(g.url, `/repos/ops/config/statuses/${sha}`);
    assert.equal(g.headers.authorization, 'Bearer tok-123');
    assert.equal(g.headers['x-github-api-version'], '2022-11-28');
    assert.equal(g.json.state, 'error', 'GitHub has no superseded state');
    assert.equal(g.json.context, 'git-sync-operator/oregon/web');
    assert.equal(g.json.target_url, 'https://deploys.example.com#ns-web');
    assert.equal(g.json.description?.length, 140);
  });

  it('Gitea: /api/v1/…, `token` auth, warning for superseded', async () => {
    const g = await statusRequest('gitea', 'superseded');
    assert.equal(g.url, `/api/v1/repos/ops/config/statuses/${sha}`);
    assert.equal(g.headers.authorization, 'token tok-123');
    assert.equal(g.json.state, 'warning');
  });

  it('GitLab: /api/v4/projects/{encoded path}/statuses/{sha}, PRIVATE-TOKEN, its state names', async () => {
    const g = await statusRequest('gitlab', 'pending');
    assert.equal(g.url, `/api/v4/projects/ops%2Fconfig/statuses/${sha}`);
    assert.equal(g.headers['private-token'], 'tok-123');
    assert.equal(g.headers.authorization, undefined);
    assert.equal(g.json.state, 'running');
    assert.equal(g.json.name, 'git-sync-operator/oregon/web');
    assert.equal((await statusRequest('gitlab', 'failure')).json.state, 'failed');
    assert.equal((await statusRequest('gitlab', 'superseded')).json.state, 'canceled');
  });

  it('an error answer throws without the token; GitLab\'s "already there" counts as sent', async () => {
    const sink = commitStatusSink({
      provider: 'gitlab',
      apiUrl: base,
      repo: 'ops/config',
      token: 'tok-123',
      cluster: 'c',
    });
    const d = sink.renderCommit?.(event('pending'));
    assert.ok(d);
    answer = 400;
    answerBody = '{"message":"Cannot transition status via :run from :running"}';
    await sink.send(d);
    answerBody = '{"message":"401 Unauthorized"}';
    answer = 401;
    await assert.rejects(
      sink.send(d),
      (err: Error) => err.message.includes('HTTP 401') && !err.message.includes('tok-123'),
    );
    answer = 201;
    answerBody = '{}';
  });
});

describe('generic webhook', () => {
  it('posts the JSON outcome signed with HMAC-SHA256 over the exact body', async () => {
    got.length = 0;
    const sink = webhookSink({ url: `${base}/hook`, secret: 'k3y', cluster: 'oregon' });
    const d = sink.render?.({
      namespace: 'web',
      deployment: 'api',
      sha7: '0123456',
      reason: 'RolloutFailed',
      message: 'pod crashed',
      at: 't',
    });
    assert.ok(d);
    await sink.send(d);
    const g = got[0] as Got;
    assert.equal(g.headers['x-signature'], signature('k3y', g.body));
    assert.equal(g.headers['x-delivery-id'], 'oregon/web/api/0123456/failed');
    assert.deepEqual(JSON.parse(g.body), {
      id: 'oregon/web/api/0123456/failed',
      event: 'deployment',
      cluster: 'oregon',
      namespace: 'web',
      deployment: 'api',
      sha: '0123456',
      state: 'failed',
      reason: 'RolloutFailed',
      message: 'pod crashed',
      at: 't',
    });
    const c = sink.renderCommit?.(event('success'));
    assert.equal(JSON.parse(c?.body ?? '{}').id, 'oregon/web/commit/0123456/success');
  });
});

describe('Slack', () => {
  it('tells a deploy and a failure, escaped; nothing for pending or superseded', async () => {
    got.length = 0;
    const sink = slackSink({ url: `${base}/services/T/B/x`, cluster: 'oregon' });
    assert.equal(sink.renderCommit?.(event('pending')), undefined);
    assert.equal(sink.renderCommit?.(event('superseded')), undefined);
    const ok = sink.renderCommit?.(event('success'));
    const bad = sink.renderCommit?.(event('failure', 'RolloutFailed: <boom>'));
    assert.ok(ok && bad);
    await sink.send(ok);
    await sink.send(bad);
    const [a, b] = got.map((g) => (JSON.parse(g.body) as { text: string }).text);
    assert.equal(a, ':white_check_mark: *oregon/web* deployed `0123456` — Bump &lt;api&gt; &amp; co (Ada)');
    assert.equal(
      b,
      ':x: *oregon/web* failed to deploy `0123456` — Bump &lt;api&gt; &amp; co (Ada)\n> RolloutFailed: &lt;boom&gt;',
    );
  });
});
