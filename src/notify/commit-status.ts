// Commit statuses on the config repo's commits, one context per cluster and namespace:
// `pending` when applied, `success` when deployed, `failure` with the reason, and for a commit a
// newer one overtook the host's nearest word. GitHub (and Enterprise), Gitea/Forgejo and GitLab
// take the same four fields under different paths, auth headers and state names.
import type { Provider } from '../config/notify.ts';
import { short } from '../source/sha.ts';
import { clipped } from '../version/reasons.ts';
import { DeliveryError, post } from './http.ts';
import type { CommitEvent, CommitState, Sink } from './sink.ts';

export type { Provider };

export interface CommitStatusOptions {
  provider: Provider;
  /** API base: https://api.github.com, https://ghe.example.com/api/v3, https://gitea.example.com … */
  apiUrl: string;
  /** owner/repo (GitLab: the project's full path). */
  repo: string;
  token: string;
  cluster: string;
  /** The status page, linked from each status (`#ns-<namespace>`). */
  pageUrl?: string | undefined;
}

/** What is stored until sent: the host-neutral fields (a changed provider still sends it). */
interface Stored {
  sha: string;
  state: CommitState;
  context: string;
  description: string;
  url?: string;
}

/** Each host's word for our states (GitHub has no "superseded": error; Gitea: warning; GitLab: canceled). */
const states: Record<Provider, Record<CommitState, string>> = {
  github: { pending: 'pending', success: 'success', failure: 'failure', superseded: 'error' },
  gitea: { pending: 'pending', success: 'success', failure: 'failure', superseded: 'warning' },
  gitlab: { pending: 'running', success: 'success', failure: 'failed', superseded: 'canceled' },
};

/** GitHub cuts descriptions at 140 characters (and refuses longer ones). */
const maxDescription = 140;

export const statusContext = (cluster: string, namespace: string) =>
  `git-sync-operator/${cluster}/${namespace}`;

export function commitStatusSink(o: CommitStatusOptions): Sink {
  return {
    name: 'commit-status',
    retry: { baseMs: 5_000, capMs: 5 * 60_000 },
    renderCommit(e: CommitEvent) {
      const stored: Stored = {
        sha: e.sha,
        state: e.state,
        context: statusContext(o.cluster, e.namespace),
        description: clipped(e.description, maxDescription),
        ...(o.pageUrl ? { url: `${o.pageUrl}#ns-${e.namespace}` } : {}),
      };
      return { key: `${e.namespace}/${short(e.sha)}/${e.state}`, body: JSON.stringify(stored) };
    },
    async send(d, signal) {
      const s = JSON.parse(d.body) as Stored;
      try {
        await post(request(o, s), signal);
      } catch (err) {
        // GitLab refuses a repeated state ("Cannot transition status via :run from :running"):
        // it is there already, which is what a retry after a lost answer wanted.
        if (
          o.provider === 'gitlab' &&
          err instanceof DeliveryError &&
          /Cannot transition status/.test(err.message)
        )
          return;
        throw err;
      }
    },
  };
}

function request(o: CommitStatusOptions, s: Stored) {
  const state = states[o.provider][s.state];
  const base = o.apiUrl.replace(/\/+$/, '');
  const what = `${o.provider} status of ${short(s.sha)}`;
  if (o.provider === 'gitlab')
    return {
      url: `${base}/api/v4/projects/${encodeURIComponent(o.repo)}/statuses/${s.sha}`,
      headers: { 'private-token': o.token },
      body: JSON.stringify({ state, name: s.context, description: s.description, target_url: s.url }),
      what,
    };
  const path = o.provider === 'github' ? '' : '/api/v1';
  const auth = o.provider === 'github' ? `Bearer ${o.token}` : `token ${o.token}`;
  const headers: Record<string, string> = { authorization: auth, accept: 'application/json' };
  if (o.provider === 'github') {
    headers.accept = 'application/vnd.github+json';
    headers['x-github-api-version'] = '2022-11-28';
  }
  return {
    url: `${base}${path}/repos/${o.repo}/statuses/${s.sha}`,
    headers,
    body: JSON.stringify({ state, context: s.context, description: s.description, target_url: s.url }),
    what,
  };
}
