// Push webhooks from GitHub, Gitea and GitLab: verify the signature over the raw body.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type Verdict =
  | { ok: true; provider: string; delivery: string | undefined }
  | { ok: false; why: string };

type Headers = Record<string, string | string[] | undefined>;
const header = (h: Headers, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** HMAC-SHA256 of `body` under `secret`, hex: what every push and outcome webhook signs with. */
export const hmacHex = (secret: string, body: string | Buffer): string =>
  createHmac('sha256', secret).update(body).digest('hex');

/**
 * Checks whichever signature header the request carries; a request with none is refused. Gitea
 * sends GitHub's header too: its own is checked first, so the delivery is logged as Gitea's.
 */
export function verify(secret: string, headers: Headers, body: Buffer): Verdict {
  const hmac = () => hmacHex(secret, body);
  const gitea = header(headers, 'x-gitea-signature') ?? header(headers, 'x-gogs-signature');
  if (gitea !== undefined) {
    return equal(gitea, hmac())
      ? { ok: true, provider: 'gitea', delivery: header(headers, 'x-gitea-delivery') }
      : { ok: false, why: 'X-Gitea-Signature does not match' };
  }
  const github = header(headers, 'x-hub-signature-256');
  if (github !== undefined) {
    return equal(github, `sha256=${hmac()}`)
      ? { ok: true, provider: 'github', delivery: header(headers, 'x-github-delivery') }
      : { ok: false, why: 'X-Hub-Signature-256 does not match' };
  }
  const gitlab = header(headers, 'x-gitlab-token');
  if (gitlab !== undefined) {
    return equal(gitlab, secret)
      ? { ok: true, provider: 'gitlab', delivery: header(headers, 'x-gitlab-event-uuid') }
      : { ok: false, why: 'X-Gitlab-Token does not match' };
  }
  return { ok: false, why: 'no signature (X-Hub-Signature-256, X-Gitea-Signature or X-Gitlab-Token)' };
}

/** Remembers recent delivery ids so a replayed request does not trigger again. */
export class DeliveryLog {
  private readonly seen = new Set<string>();
  constructor(private readonly size = 1000) {}

  /** True the first time an id is seen. */
  first(id: string): boolean {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > this.size) this.seen.delete(this.seen.values().next().value as string);
    return true;
  }
}
