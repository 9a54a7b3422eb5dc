// The one HTTP path to the apiserver: kubeconfig/in-cluster auth (kubeconfig.ts),
// a keep-alive agent, typed errors, and backoff that honours Retry-After (429 / APF, 503).

import { request as httpRequest } from 'node:http';
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSecureContext } from 'node:tls';
import type { Env } from '../config.ts';
import type { Logger } from '../log.ts';
import { H2Pool, type Streamed } from './h2.ts';
import { type Endpoint, resolveEndpoint } from './kubeconfig.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The Status's `details.causes` (a 422 names each invalid field here). */
  causes: StatusCause[] = [];
}

/** A 404: the object (or its kind) is not there. */
export const isNotFound = (err: unknown): boolean => err instanceof ApiError && err.status === 404;

/** The answer, or undefined for a 404 (not there, or already gone). */
export function ifFound<T>(request: Promise<T>): Promise<T | undefined> {
  return request.catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });
}

/** One cause of a refused request: the field and what is wrong with it. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** No complete answer within the request timeout: a hung apiserver, or a dead keep-alive connection. */
export class ApiTimeoutError extends ApiError {
  constructor(server: string, method: string, path: string, ms: number) {
    super(
      0,
      'Timeout',
      `apiserver ${server} did not answer ${method} ${path.split('?')[0]} within ${ms / 1000} s`,
    );
    this.name = 'ApiTimeoutError';
  }
}

/**
 * Methods that may be sent again after a timeout (the first may have been applied): GET, a PUT
 * carrying its resourceVersion (a repeat is a 409), PATCH (server-side apply and merge patches
 * are idempotent), DELETE (a repeat is a 404). Never POST: a create may have happened.
 */
const idempotent = new Set(['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE']);

const resendable = (err: unknown, method: string): err is ApiTimeoutError =>
  err instanceof ApiTimeoutError && idempotent.has(method);

/** Throttled (429, API priority and fairness) or briefly unavailable: sent again after a wait. */
const throttled = new Set([429, 503, 504]);

/** Accept headers asking for metadata only (PartialObjectMetadata): no spec, data or status. */
export const metadataOnly = {
  list: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json',
  watch: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json',
} as const;

export interface RequestInit {
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
}

export interface KubeClientOptions {
  kubeconfig?: string | undefined;
  /** KUBECONFIG and the in-cluster KUBERNETES_SERVICE_* (default: the process's, see hostEnv). */
  env?: Env | undefined;
  /** Parallel connections to the apiserver. */
  maxSockets?: number;
  /** Where throttled retries are reported (debug). */
  log?: Logger | undefined;
  /** Impersonate a user (tests prove least-privilege RBAC this way). */
  impersonate?: { user: string; groups?: string[] } | undefined;
  /**
   * Milliseconds a request may take, body included, before it fails with ApiTimeoutError
   * (default 30 s; the apiserver answers 504 itself after its --request-timeout, 60 s by default,
   * so this fires only on a hung apiserver or a dead connection, or a very slow one). Watches
   * (`stream()`) are not bounded: their signal ends them.
   */
  requestTimeoutMs?: number;
}

export class KubeClient {
  readonly server: string;
  /** Requests sent, by HTTP method (for the benchmark and metrics). */
  readonly counts = new Map<string, number>();
  private readonly endpoint: Endpoint;
  private readonly maxSockets: number;
  /** TLS settings and auth headers from the kubeconfig, refreshed now and then (rotating tokens). */
  private auth: Promise<Auth> | undefined;
  private authAt = 0;
  private readonly impersonate: KubeClientOptions['impersonate'];
  private readonly log: Logger | undefined;
  private readonly requestTimeoutMs: number;

  constructor(opts: KubeClientOptions = {}) {
    this.endpoint = resolveEndpoint({ kubeconfig: opts.kubeconfig, env: opts.env });
    this.server = this.endpoint.server;
    this.maxSockets = opts.maxSockets ?? 32;
    this.impersonate = opts.impersonate;
    this.log = opts.log;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
  }

  /**
   * Credentials are read once per minute (tokens rotate); the keep-alive agents are made once and
   * reused, so requests share connections (a new TLS connection per request doubles their cost).
   */
  private authenticate(): Promise<Auth> {
    if (this.auth && Date.now() - this.authAt < authRefreshMs) return this.auth;
    const previous = this.auth;
    this.authAt = Date.now();
    this.auth = (async () => {
      const c = await this.endpoint.credentials();
      const old = await previous?.catch(() => undefined);
      // One TLS context for every connection: built per socket it costs a CA parse each time and
      // tens of KiB of native memory (thousands of watches: hundreds of MiB).
      const { ca, cert, key, ...rest } = c.tls;
      const tls = { ...rest, secureContext: createSecureContext({ ca, cert, key }) };
      return {
        headers: c.headers,
        basic: c.basic,
        agent: old?.agent ?? new Agent({ keepAlive: true, maxSockets: this.maxSockets, ...tls }),
        // Watches hold a connection for minutes: their own pool, so applies never wait on them.
        watchAgent: old?.watchAgent ?? new Agent({ keepAlive: true, ...tls }),
        h2: this.server.startsWith('https:') ? (old?.h2 ?? new H2Pool(this.server, tls)) : undefined,
      };
    })();
    this.auth.catch(() => {
      this.auth = undefined;
    });
    return this.auth;
  }

  /** The namespace in the current context (kubectl's default), if any. */
  contextNamespace(): string | undefined {
    return this.endpoint.namespace;
  }

  /**
   * JSON request; throws ApiError for non-2xx, retrying throttling and transient errors, and
   * ApiTimeoutError when no answer comes within the request timeout (sent once more first, on a
   * new connection, if the method is idempotent).
   */
  async json<T = unknown>(method: string, path: string, init: RequestInit = {}): Promise<T> {
    let timeouts = 0;
    for (let attempt = 0; ; attempt++) {
      let answer: { res: import('node:http').IncomingMessage; text: string };
      try {
        answer = await this.exchange(method, path, init);
      } catch (err) {
        if (!(resendable(err, method) && timeouts++ === 0)) throw err;
        this.log?.debug({ method, path: path.split('?')[0] }, `${err.message}, retrying once`);
        continue;
      }
      const status = answer.res.statusCode ?? 0;
      if (status >= 200 && status < 300) return parseJson<T>(answer.text);
      const err = toApiError(answer.res, answer.text, method, path);
      if (!throttled.has(status) || attempt >= 8) throw err;
      await this.backoff(err, attempt, { method, path, signal: init.signal });
    }
  }

  /** Waits as long as the apiserver asked (Retry-After), else exponentially; 30 s at most. */
  private async backoff(
    err: ApiError,
    attempt: number,
    req: { method: string; path: string; signal: AbortSignal | undefined },
  ): Promise<void> {
    const waitMs = Math.min((err.retryAfterSeconds ?? 2 ** attempt * 0.1) * 1000, 30_000);
    this.log?.debug(
      {
        method: req.method,
        path: req.path.split('?')[0],
        status: err.status,
        attempt,
        retryAfter: err.retryAfterSeconds,
        waitMs,
      },
      'apiserver throttled, retrying',
    );
    await sleep(waitMs, undefined, { signal: req.signal });
  }

  /**
   * One request and its whole body, within the request timeout. On timeout the request is
   * destroyed, and its socket with it: a retry never waits on the same dead connection.
   */
  private async exchange(
    method: string,
    path: string,
    init: RequestInit,
  ): Promise<{ res: import('node:http').IncomingMessage; text: string }> {
    const abort = new AbortController();
    const onAbort = () => abort.abort(init.signal?.reason);
    if (init.signal?.aborted) onAbort();
    init.signal?.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, this.requestTimeoutMs);
    try {
      const res = await this.send(method, path, { ...init, signal: abort.signal });
      return { res, text: await readBody(res) };
    } catch (err) {
      if (timedOut) throw new ApiTimeoutError(this.server, method, path, this.requestTimeoutMs);
      throw err;
    } finally {
      clearTimeout(timer);
      init.signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * A streaming GET (watch): yields each JSON line until the server closes or `signal` aborts;
   * `opened` is called once the server has accepted it.
   */
  async *stream(
    path: string,
    signal: AbortSignal,
    o: { accept?: string; opened?: () => void } = {},
  ): AsyncGenerator<unknown> {
    const res = await this.openStream(path, signal, o.accept);
    if (res.statusCode >= 300) {
      throw toApiError(res, await readBody(res.body), 'GET', path);
    }
    o.opened?.();
    let buf = '';
    try {
      for await (const chunk of res.body) {
        buf += chunk;
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line) yield JSON.parse(line);
          nl = buf.indexOf('\n');
        }
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      res.destroy();
    }
  }

  close(): void {
    void this.auth?.then((a) => {
      a.agent.destroy();
      a.watchAgent.destroy();
      a.h2?.close();
    });
  }

  /** The HTTP/2 connections the watches share now, each with its stream count. */
  async watchConnections(): Promise<number[]> {
    return (await this.authenticate()).h2?.load ?? [];
  }

  /** A watch's response: over HTTP/2 where the server speaks TLS, else on the watch pool. */
  private async openStream(path: string, signal: AbortSignal, accept: string | undefined): Promise<Streamed> {
    const auth = await this.authenticate();
    if (!auth.h2) {
      const res = await this.send('GET', path, { signal, ...(accept ? { accept } : {}) }, 'watch');
      res.setEncoding('utf8');
      return {
        statusCode: res.statusCode ?? 0,
        headers: res.headers,
        body: res as AsyncIterable<string>,
        destroy: () => res.destroy(),
      };
    }
    this.counts.set('GET', (this.counts.get('GET') ?? 0) + 1);
    const headers: Record<string, string | string[]> = {
      ...auth.headers,
      accept: accept ?? 'application/json',
    };
    if (auth.basic) headers.authorization = `Basic ${Buffer.from(auth.basic).toString('base64')}`;
    if (this.impersonate) {
      headers['impersonate-user'] = this.impersonate.user;
      if (this.impersonate.groups?.length) headers['impersonate-group'] = this.impersonate.groups;
    }
    try {
      return await auth.h2.get(path, headers, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      throw new ApiError(0, 'Unreachable', `apiserver ${this.server} unreachable: ${(err as Error).message}`);
    }
  }

  private async send(
    method: string,
    path: string,
    init: RequestInit,
    pool: 'apply' | 'watch' = 'apply',
  ): Promise<import('node:http').IncomingMessage> {
    this.counts.set(method, (this.counts.get(method) ?? 0) + 1);
    const auth = await this.authenticate();
    const headers: Record<string, string | string[]> = { ...auth.headers };
    const opts: RequestOptions = {
      method,
      headers,
      agent: pool === 'watch' ? auth.watchAgent : auth.agent,
      signal: init.signal,
      ...(auth.basic ? { auth: auth.basic } : {}),
    };
    headers.accept = init.accept ?? 'application/json';
    if (this.impersonate) {
      headers['impersonate-user'] = this.impersonate.user;
      // An array becomes one header line per group, as the apiserver expects.
      if (this.impersonate.groups?.length) headers['impersonate-group'] = this.impersonate.groups;
    }
    let payload: string | undefined;
    if (init.body !== undefined) {
      payload = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      headers['content-type'] = init.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const url = new URL(this.server + path);
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    if (url.protocol === 'http:') opts.agent = undefined;
    return new Promise((resolve, reject) => {
      const req = send(url, opts, resolve);
      req.on('error', (err) =>
        reject(new ApiError(0, 'Unreachable', `apiserver ${this.server} unreachable: ${err.message}`)),
      );
      req.end(payload);
    });
  }
}

interface Auth {
  headers: Record<string, string>;
  basic: string | undefined;
  agent: Agent;
  watchAgent: Agent;
  /** Watches, where the server speaks TLS (and so HTTP/2). */
  h2: H2Pool | undefined;
}

/** Auth headers are re-read this often (bound service-account tokens and exec plugins rotate). */
const authRefreshMs = 60_000;

/** An empty body (a 2xx without content) is undefined. */
const parseJson = <T>(text: string): T => (text ? JSON.parse(text) : undefined) as T;

async function readBody(res: import('node:http').IncomingMessage | AsyncIterable<string>): Promise<string> {
  if ('setEncoding' in res) res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res as AsyncIterable<string>) text += chunk;
  return text;
}

function toApiError(
  res: Pick<import('node:http').IncomingMessage, 'statusCode' | 'headers'>,
  text: string,
  method: string,
  path: string,
): ApiError {
  const status = res.statusCode ?? 0;
  const retryAfter = res.headers['retry-after'];
  let reason = 'Unknown';
  let message = text.slice(0, 500);
  let causes: StatusCause[] = [];
  try {
    const s = JSON.parse(text) as { reason?: string; message?: string; details?: { causes?: StatusCause[] } };
    reason = s.reason ?? reason;
    message = s.message ?? message;
    causes = Array.isArray(s.details?.causes) ? s.details.causes : [];
  } catch {}
  const ra = Number(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
  const err = new ApiError(
    status,
    reason,
    `${method} ${path.split('?')[0]}: ${status} ${reason}: ${message}`,
    Number.isFinite(ra) ? ra : undefined,
  );
  err.causes = causes;
  return err;
}
