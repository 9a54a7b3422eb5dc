// The status page: rendered here from a snapshot, every value escaped (html.ts). Read only: no
// form, no link that changes anything. The script swaps in #status as it changes (refresh.ts).
import { short } from '../source/sha.ts';
import { ago, name, utc } from './format.ts';
import { type Html, html, trusted } from './html.ts';
import { refreshScript, refreshScriptHash } from './refresh.ts';
import type { NamespaceState } from './state.ts';
import type { CommitInfo, NamespaceStatus, StatusSnapshot, WorkloadStatus } from './status.ts';
import { style } from './style.ts';
import { timeline } from './timeline.ts';

/** Inline styles and this page's own script only; it may fetch itself, nothing else. */
export const contentSecurityPolicy = [
  "default-src 'none'",
  "style-src 'unsafe-inline'",
  `script-src ${refreshScriptHash}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function renderPage(s: StatusSnapshot): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${pageTitle(s)}</title>
<style>${trusted(style)}</style>
</head>
<body>
<main id="status">${statusBody(s)}</main>
<div id="conn" role="status" hidden></div>
<script>${trusted(refreshScript)}</script>
</body>
</html>
`.text;
}

/** The worst state first, so a tab tells it without being looked at. */
export function pageTitle(s: StatusSnapshot): string {
  const order: NamespaceState[] = ['Failed', 'Unknown', 'Progressing', 'Suspended', 'Ready'];
  const worst = order.find((st) => s.namespaces.some((n) => n.state === st));
  return `${worst ? `${worst} · ` : ''}git-sync-operator · ${s.cluster}`;
}

export function statusBody(s: StatusSnapshot): Html {
  const role = {
    single: '',
    leader: html`<span class="pill">leader${s.replica.leader ? html` · ${s.replica.leader}` : ''}</span>`,
    standby: html`<span class="pill">standby</span>`,
  }[s.replica.role];
  return html`<header class="top">
    <h1>git-sync-operator</h1>
    <span class="pill">cluster ${s.cluster}</span>${role}
    <span class="grow"></span>
    <span class="live muted">updated ${utc(s.generatedAt)}</span>
  </header>
  ${s.replica.role === 'standby' ? standbyBanner(s.replica.leader) : ''}
  ${sourceCard(s)}
  ${s.namespaces.map((n) => namespaceCard(n, s.generatedAt))}
  <footer>Read only. The same data as JSON: <code>/api/v1/status</code>. Refreshes every 2 s.</footer>`;
}

function standbyBanner(leader: string | undefined): Html {
  return html`<div class="banner" data-role="standby">This replica is a <b>standby</b>: another replica
    ${leader ? html`(<code>${leader}</code>)` : ''} holds the leader lease, polls git and applies. The namespaces
    below are read from their Versions, as the leader wrote them.</div>`;
}

function sourceCard(s: StatusSnapshot): Html {
  const src = s.source;
  const head = src.head;
  return html`<section class="card source" data-section="source">
    <header><h2>Source</h2>${src.error ? html`<span class="badge failed">Unavailable</span>` : ''}</header>
    <dl>
      <div><dt>Repository</dt><dd><code>${src.repo}</code></dd></div>
      <div><dt>Branch</dt><dd>${src.branch ?? html`<span class="muted">the remote's default</span>`}</dd></div>
      <div><dt>Head</dt><dd>${head ? commitLine(head, s.generatedAt) : html`<span class="muted">not fetched by this replica</span>`}</dd></div>
      <div><dt>Last poll</dt><dd>${src.lastPollAt ? html`<span title="${utc(src.lastPollAt)}">${ago(src.lastPollAt, s.generatedAt)}</span>` : html`<span class="muted">none by this replica</span>`}</dd></div>
    </dl>
    ${src.error ? html`<h3>Source error</h3><pre class="error">${src.error}</pre>` : ''}
  </section>`;
}

function commitLine(c: CommitInfo, now: string): Html {
  return html`<code class="sha">${short(c.sha)}</code> <span class="subject">${c.subject ?? ''}</span>
    <span class="muted">${name(c.author)}${c.committedAt ? ` · ${ago(c.committedAt, now)}` : ''}</span>`;
}

function namespaceCard(n: NamespaceStatus, now: string): Html {
  return html`<section id="ns-${n.namespace}" class="card ns ${n.state.toLowerCase()}" data-namespace="${n.namespace}">
    <header>
      <h2>${n.namespace}</h2>
      <span class="badge" data-state="${n.state}">${n.state}</span>
      <span class="detail" title="${n.message ?? ''}">${n.reason && n.reason !== n.state ? html`<b>${n.reason}</b> · ` : ''}${n.message ?? ''}</span>
    </header>
    <div class="commits">
      ${commitBox('Applied', 'applied', n.applied, now)}
      ${commitBox('Deployed (healthy)', 'deployed', n.deployed, now)}
    </div>
    <h3>Workloads</h3>
    ${workloads(n.workloads)}
    ${n.lastError ? html`<h3>Last error</h3><pre class="error" data-section="last-error">${n.lastError}</pre>` : ''}
    <h3>Recent syncs</h3>
    ${timeline(n.history, now)}
  </section>`;
}

function commitBox(title: string, key: string, c: CommitInfo | undefined, now: string): Html {
  return html`<div class="commit" data-commit="${key}"><h3>${title}</h3>${
    c
      ? html`<div><code class="sha">${short(c.sha)}</code> <span class="subject">${c.subject ?? ''}</span></div>
        <div class="muted">${c.author ?? ''}${c.committedAt ? ` · committed ${ago(c.committedAt, now)}` : ''}</div>`
      : html`<div class="muted">none yet</div>`
  }</div>`;
}

function workloads(list: readonly WorkloadStatus[]): Html {
  if (list.length === 0) return html`<p class="muted">No Deployment yet.</p>`;
  return html`<table><thead><tr><th>Deployment</th><th>State</th><th>Commit</th><th>Detail</th></tr></thead>
    <tbody>${list.map(
      (w) => html`<tr data-workload="${w.name}">
        <td>${w.name}</td>
        <td><span class="state ${w.state.toLowerCase()}">${w.state}</span></td>
        <td><code class="sha">${w.sha}</code></td>
        <td class="msg">${workloadDetail(w)}</td>
      </tr>`,
    )}</tbody></table>`;
}

function workloadDetail(w: WorkloadStatus): string {
  const told = w.notified ? 'CI notified' : 'CI not notified yet';
  if (w.state === 'Failed') return `${w.message ?? ''} · ${told}`;
  if (w.state === 'Healthy') return `healthy since ${w.healthyAt ? utc(w.healthyAt) : '?'} · ${told}`;
  return 'rolling out';
}
