import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HistoryEntry } from '../version/types.ts';
import { escapeHtml, html, trusted } from './html.ts';
import { contentSecurityPolicy, pageTitle, renderPage } from './page.ts';
import { refreshScript, refreshScriptHash } from './refresh.ts';
import type { NamespaceStatus, StatusSnapshot } from './status.ts';
import { segments, timeline } from './timeline.ts';

const evil = '<script>alert("x")</script> & <img src=x onerror=alert(1)>';

const deployed: HistoryEntry = {
  sha: 'a'.repeat(40),
  subject: 'image v1',
  author: 'Al <al@example.com>',
  committedAt: '2025-03-01T10:00:00Z',
  seenAt: '2025-03-01T10:00:02Z',
  appliedAt: '2025-03-01T10:00:03Z',
  healthyAt: '2025-03-01T10:00:15Z',
  notifiedAt: '2025-03-01T10:00:15Z',
  result: 'Deployed',
};

const failedNs: NamespaceStatus = {
  namespace: 'web',
  state: 'Failed',
  reason: 'DryRunRejected',
  message: 'iowa-a/web/svc.yaml:9: Service/web: port out of range',
  applied: {
    sha: 'a'.repeat(40),
    subject: evil,
    author: 'Eve <eve@example.com>',
    committedAt: '2025-03-01T10:00:00Z',
  },
  workloads: [
    { name: 'web', sha: 'aaaaaaa', state: 'Failed', message: `RolloutFailed: ${evil}`, notified: true },
  ],
  lastError: `iowa-a/web/svc.yaml:9: ${evil}`,
  history: [
    {
      sha: 'b'.repeat(40),
      subject: evil,
      author: 'Eve <eve@example.com>',
      committedAt: '2025-03-01T10:01:00Z',
      seenAt: '2025-03-01T10:01:01Z',
      result: 'Failed',
      reason: `DryRunRejected: ${evil}`,
    },
    deployed,
  ],
};

const snapshot = (namespaces: NamespaceStatus[]): StatusSnapshot => ({
  generatedAt: '2025-03-01T10:02:00Z',
  cluster: 'iowa-a',
  replica: { role: 'single' },
  source: { repo: 'https://git.example.com/config.git', branch: 'main', error: evil },
  namespaces,
});

describe('html', () => {
  it('escapes every interpolated value, in content and in attributes; Html passes as is', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const title = '" onmouseover="alert(1)';
    assert.equal(
      html`<b title="${title}">${['<i>', html`<i>ok</i>`]}${undefined}${false}${0}</b>`.text,
      '<b title="&quot; onmouseover=&quot;alert(1)">&lt;i&gt;<i>ok</i>0</b>',
    );
    assert.equal(html`${trusted('<style>a>b{}</style>')}`.text, '<style>a>b{}</style>');
  });
});

describe('renderPage', () => {
  it('shows commit subjects, errors and reasons from git as text: the only script is its own', () => {
    const page = renderPage(snapshot([failedNs]));
    assert.equal(page.split('<script').length - 1, 1, 'one <script> element: the page’s own');
    assert.ok(!page.includes('<img'), 'markup from a commit reached the page');
    assert.ok(
      page.includes(
        '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;',
      ),
    );
    // Subject (applied box, timeline), source error, last error, workload message, timeline reason.
    assert.equal(page.split('&lt;script&gt;alert').length - 1, 6);
  });

  it('the badge, the reason and message of the state, the error with its file:line, the workload', () => {
    const page = renderPage(snapshot([failedNs]));
    assert.match(page, /<section id="ns-web" class="card ns failed" data-namespace="web">/);
    assert.match(page, /<span class="badge" data-state="Failed">Failed<\/span>/);
    assert.match(page, /<b>DryRunRejected<\/b> · iowa-a\/web\/svc\.yaml:9: Service\/web: port out of range/);
    assert.match(page, /<pre class="error" data-section="last-error">iowa-a\/web\/svc\.yaml:9: /);
    assert.match(page, /<tr data-workload="web">[\s\S]*?<span class="state failed">Failed<\/span>/);
    assert.match(page, /<h3>Source error<\/h3>/);
    assert.match(page, /<title>Failed · git-sync-operator · iowa-a<\/title>/);
  });

  it('a standby says so, and names the leader when the Lease does', () => {
    const s = { ...snapshot([]), replica: { role: 'standby' as const, leader: 'op-7f9' } };
    assert.match(
      renderPage(s),
      /This replica is a <b>standby<\/b>: another replica\s+\(<code>op-7f9<\/code>\)/,
    );
    assert.doesNotMatch(renderPage(snapshot([])), /standby/);
  });

  it('the title names the worst state; the CSP allows exactly the page’s script', () => {
    const ns = (state: NamespaceStatus['state']): NamespaceStatus => ({
      namespace: state,
      state,
      workloads: [],
      history: [],
    });
    assert.equal(
      pageTitle(snapshot([ns('Ready'), ns('Progressing')])),
      'Progressing · git-sync-operator · iowa-a',
    );
    assert.equal(pageTitle(snapshot([ns('Ready')])), 'Ready · git-sync-operator · iowa-a');
    assert.match(contentSecurityPolicy, /script-src 'sha256-[A-Za-z0-9+/]+=*'/);
    assert.ok(contentSecurityPolicy.includes(refreshScriptHash));
    assert.ok(renderPage(snapshot([])).includes(`<script>${refreshScript}</script>`));
  });
});

describe('timeline', () => {
  it('a segment per step that happened, in seconds from the step before', () => {
    assert.deepEqual(segments(deployed), [
      { step: 'seen', seconds: 2 },
      { step: 'applied', seconds: 1 },
      { step: 'healthy', seconds: 12 },
      { step: 'notified', seconds: 0 },
    ]);
    // Refused before the apply: only seen; without a commit time the first step starts at 0.
    const { committedAt: _, ...noCommitTime } = deployed;
    assert.deepEqual(
      segments({ ...noCommitTime, appliedAt: undefined }).map((s) => s.seconds),
      [0, 13, 0],
    );
  });

  it('rows newest first, bars as wide as their seconds, the steps labelled, result and reason', () => {
    const out = timeline(failedNs.history, '2025-03-01T10:02:00Z').text;
    const rows = out.split('<li class="run"').slice(1);
    assert.equal(rows.length, 2);
    assert.match(rows[0] ?? '', /class="result failed">Failed</);
    assert.match(rows[0] ?? '', /<span class="seg end failed" title="Failed">✕<\/span>/);
    assert.match(rows[0] ?? '', /<div class="reason">DryRunRejected: &lt;script&gt;/);
    const bar = rows[1] ?? '';
    assert.match(bar, /<div class="bar" style="width:100\.0%">/, 'the longest row is full width');
    assert.match(bar, /class="seg healthy" style="flex-grow:12" title="healthy after 12s">12s</);
    assert.match(
      bar,
      /committed<\/span> → <span>seen <b>\+2s<\/b><\/span> → <span>applied <b>\+1s<\/b><\/span> → <span>healthy <b>\+12s<\/b><\/span> → <span>notified <b>\+0s<\/b>/,
    );
    assert.match(bar, /Al · 2m00s ago/);
    assert.match(
      rows[0] ?? '',
      /<div class="bar" style="width:12\.0%">/,
      'a row of 1 s gets the minimum width',
    );
    const progressing = timeline(
      [{ ...deployed, healthyAt: undefined, notifiedAt: undefined, result: 'Progressing' }],
      '2025-03-01T10:02:00Z',
    ).text;
    assert.match(progressing, /class="seg pending" title="in progress">…</);
    assert.match(timeline([], 'x').text, /No sync recorded yet/);
  });
});
