// A generic webhook: every outcome as JSON — each Deployment's (the S3 files' twin) and each
// commit's state — signed `X-Signature: sha256=<HMAC-SHA256(secret, body)>` over the exact body.
// `id` is the same for a repeat of one delivery (a crash between the send and the status write):
// a receiver drops what it has seen.
import { short } from '../source/sha.ts';
import { hmacHex } from '../webhook.ts';
import { post } from './http.ts';
import type { CommitEvent, Decided, Sink } from './sink.ts';

export interface WebhookOptions {
  url: string;
  /** HMAC key of X-Signature; unset = unsigned. */
  secret?: string | undefined;
  cluster: string;
  pageUrl?: string | undefined;
}

/** A Deployment's outcome at a commit. */
export interface DeploymentPayload {
  id: string;
  event: 'deployment';
  cluster: string;
  namespace: string;
  deployment: string;
  sha: string;
  state: 'deployed' | 'failed';
  reason?: string;
  message?: string;
  at: string;
  url?: string;
}

/** A commit's state in a namespace. */
export interface CommitPayload {
  id: string;
  event: 'commit';
  cluster: string;
  namespace: string;
  sha: string;
  state: CommitEvent['state'];
  description: string;
  subject?: string;
  author?: string;
  at: string;
  url?: string;
}

export type WebhookPayload = DeploymentPayload | CommitPayload;

export const signature = (secret: string, body: string) => `sha256=${hmacHex(secret, body)}`;

export function webhookSink(o: WebhookOptions): Sink {
  const url = (ns: string) => (o.pageUrl ? { url: `${o.pageUrl}#ns-${ns}` } : {});
  return {
    name: 'webhook',
    retry: { baseMs: 2_000, capMs: 5 * 60_000 },
    render(d: Decided) {
      const state = 'healthyAt' in d ? 'deployed' : 'failed';
      const id = `${o.cluster}/${d.namespace}/${d.deployment}/${d.sha7}/${state}`;
      const p: DeploymentPayload = {
        id,
        event: 'deployment',
        cluster: o.cluster,
        namespace: d.namespace,
        deployment: d.deployment,
        sha: d.sha7,
        state,
        ...('healthyAt' in d ? { at: d.healthyAt } : { reason: d.reason, message: d.message, at: d.at }),
        ...url(d.namespace),
      };
      return { key: id, body: JSON.stringify(p) };
    },
    renderCommit(e: CommitEvent) {
      const id = `${o.cluster}/${e.namespace}/commit/${short(e.sha)}/${e.state}`;
      const p: CommitPayload = {
        id,
        event: 'commit',
        cluster: o.cluster,
        namespace: e.namespace,
        sha: e.sha,
        state: e.state,
        description: e.description,
        ...(e.subject !== undefined ? { subject: e.subject } : {}),
        ...(e.author !== undefined ? { author: e.author } : {}),
        at: e.at,
        ...url(e.namespace),
      };
      return { key: id, body: JSON.stringify(p) };
    },
    async send(d, signal) {
      const headers: Record<string, string> = { 'x-delivery-id': d.key };
      if (o.secret) headers['x-signature'] = signature(o.secret, d.body);
      await post({ url: o.url, headers, body: d.body, what: 'webhook' }, signal);
    },
  };
}
