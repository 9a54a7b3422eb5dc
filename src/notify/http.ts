// One POST of a sink's delivery over HTTP(S), bounded in time. The URL and headers may hold a
// secret (a token, a Slack webhook path): neither ever appears in an error message.

/** A request that takes longer is abandoned (the delivery stays pending). */
export const requestTimeoutMs = 10_000;

export class DeliveryError extends Error {
  constructor(
    message: string,
    /** The HTTP status, when one came back. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }

  /**
   * The target refused this request as such (400, 404, 422…): sending it again is unlikely to help.
   * Not 401/403 (a token can be fixed), 408, 409, 425 or 429 (a retry may pass).
   */
  get permanent(): boolean {
    const s = this.status;
    return s !== undefined && s >= 400 && s < 500 && ![401, 403, 408, 409, 425, 429].includes(s);
  }
}

export interface Post {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Names the target in errors instead of the URL (which may carry a secret). */
  what: string;
}

/** POSTs `body`; a non-2xx answer throws with its status and the start of its body. */
export async function post(p: Post, signal?: AbortSignal): Promise<void> {
  const timeout = AbortSignal.timeout(requestTimeoutMs);
  let res: Response;
  try {
    res = await fetch(p.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'git-sync-operator', ...p.headers },
      body: p.body,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      redirect: 'error',
    });
  } catch (err) {
    const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    const why = timeout.aborted ? `no answer in ${requestTimeoutMs / 1000} s` : cause;
    throw new DeliveryError(`${p.what}: ${why}`);
  }
  const text = await res.text().catch(() => '');
  if (!res.ok)
    throw new DeliveryError(`${p.what}: HTTP ${res.status}: ${text.slice(0, 200).trim()}`, res.status);
}
