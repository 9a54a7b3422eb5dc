// A Slack incoming webhook: one message when a commit is deployed in a namespace, one when it
// fails — not per Deployment, not for `pending` or a superseded commit (the noise people mute).
// The webhook URL is itself the secret: it is never logged.
import { short } from '../source/sha.ts';
import { post } from './http.ts';
import type { CommitEvent, Sink } from './sink.ts';

export interface SlackOptions {
  url: string;
  cluster: string;
  pageUrl?: string | undefined;
}

/** Slack's mrkdwn needs &, < and > escaped in text that came from git. */
export const slackEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function slackText(o: Omit<SlackOptions, 'url'>, e: CommitEvent): string {
  const where = `*${slackEscape(`${o.cluster}/${e.namespace}`)}*`;
  const sha = o.pageUrl ? `<${o.pageUrl}#ns-${e.namespace}|${short(e.sha)}>` : `\`${short(e.sha)}\``;
  const what = e.subject
    ? ` — ${slackEscape(e.subject)}${e.author ? ` (${slackEscape(e.author)})` : ''}`
    : '';
  return e.state === 'success'
    ? `:white_check_mark: ${where} deployed ${sha}${what}`
    : `:x: ${where} failed to deploy ${sha}${what}\n> ${slackEscape(e.description)}`;
}

export function slackSink(o: SlackOptions): Sink {
  return {
    name: 'slack',
    retry: { baseMs: 5_000, capMs: 5 * 60_000 },
    // A message cut short by a budget may have been posted: Slack would show it twice.
    onTheWay: false,
    renderCommit(e) {
      if (e.state !== 'success' && e.state !== 'failure') return undefined;
      return {
        key: `${e.namespace}/${short(e.sha)}/${e.state}`,
        body: JSON.stringify({ text: slackText(o, e) }),
      };
    },
    async send(d, signal) {
      await post({ url: o.url, headers: {}, body: d.body, what: 'slack' }, signal);
    },
  };
}
