// The timeline of recent syncs: one row per commit, a horizontal bar whose segments are the steps
// commit → seen → applied → healthy → notified, each as wide as its seconds (rows share a scale).
import { short } from '../source/sha.ts';
import type { HistoryEntry } from '../version/types.ts';
import { ago, name, secondsBetween, span } from './format.ts';
import { type Html, html } from './html.ts';

/** A step of a sync and the name its segment (the time since the previous step) is shown by. */
const steps = [
  ['seenAt', 'seen'],
  ['appliedAt', 'applied'],
  ['healthyAt', 'healthy'],
  ['notifiedAt', 'notified'],
] as const;

export interface Segment {
  step: (typeof steps)[number][1];
  seconds: number;
}

/** The segments of an entry: from its commit (or first sighting) to each later step that happened. */
export function segments(e: HistoryEntry): Segment[] {
  let from = e.committedAt;
  const out: Segment[] = [];
  for (const [key, step] of steps) {
    const at = e[key];
    if (!at) continue;
    const seconds = secondsBetween(from ?? at, at) ?? 0;
    out.push({ step, seconds });
    from = at;
  }
  return out;
}

const total = (e: HistoryEntry) => segments(e).reduce((sum, s) => sum + s.seconds, 0);

export function timeline(history: readonly HistoryEntry[], now: string): Html {
  if (history.length === 0) return html`<p class="muted">No sync recorded yet.</p>`;
  const longest = Math.max(1, ...history.map(total));
  return html`<div class="legend">
      <span><i class="seg seen"></i>commit → seen</span><span><i class="seg applied"></i>→ applied</span>
      <span><i class="seg healthy"></i>→ healthy</span><span><i class="seg notified"></i>→ CI notified</span>
    </div>
    <ol class="timeline">${history.map((e) => row(e, longest, now))}</ol>`;
}

function row(e: HistoryEntry, longest: number, now: string): Html {
  const segs = segments(e);
  // At least a sliver per row, so that an instant sync still shows its steps.
  const width = Math.max(12, (100 * total(e)) / longest);
  const end =
    e.result === 'Progressing'
      ? html`<span class="seg pending" title="in progress">…</span>`
      : e.result === 'Deployed'
        ? ''
        : html`<span class="seg end ${e.result.toLowerCase()}" title="${e.result}">✕</span>`;
  return html`<li class="run" data-sha="${short(e.sha)}">
    <div class="run-head">
      <span class="result ${e.result.toLowerCase()}">${e.result}</span>
      <code>${short(e.sha)}</code>
      <span class="subject">${e.subject}</span>
      <span class="who">${name(e.author)} · ${ago(e.committedAt ?? e.seenAt, now)}</span>
    </div>
    <div class="bar" style="width:${width.toFixed(1)}%">${segs.map(
      (s) =>
        html`<span class="seg ${s.step}" style="flex-grow:${Math.max(s.seconds, 0.01)}" title="${s.step} after ${span(s.seconds)}">${span(s.seconds)}</span>`,
    )}${end}</div>
    <div class="steps">${stepsText(e, segs)}</div>
    ${e.reason ? html`<div class="reason">${e.reason}</div>` : ''}
  </li>`;
}

/** "committed → seen +2s → applied +1s → healthy +12s → notified +0s" */
function stepsText(e: HistoryEntry, segs: readonly Segment[]): Html {
  const first = e.committedAt ? 'committed' : 'seen';
  const rest = segs.filter((s, i) => !(i === 0 && !e.committedAt && s.step === 'seen'));
  return html`<span>${first}</span>${rest.map((s) => html` → <span>${s.step} <b>+${span(s.seconds)}</b></span>`)}`;
}
