// HTTP endpoints: /healthz, /readyz, /metrics, POST /hooks/git, and the read-only status page (/)
// with its JSON (/api/v1/status).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import type { Operator } from './operator.ts';
import { operatorStatus } from './web/operator-status.ts';
import { contentSecurityPolicy, renderPage } from './web/page.ts';
import type { StatusSnapshot } from './web/status.ts';
import { DeliveryLog, verify } from './webhook.ts';

export interface ServerDeps {
  metrics: Metrics;
  log: Logger;
  /** Ready after the first successful sync. */
  ready: () => boolean;
  /** The loop is alive (not wedged). */
  healthy: () => boolean;
  wake: () => void;
  webhookSecret: string | undefined;
  /** What the status page shows (cached: a page view reads the Versions at most once a second). */
  status: () => Promise<StatusSnapshot>;
}

/**
 * /healthz: a loop that has not ticked for three intervals (plus slack for a slow git: its commands
 * time out after 120 s) is wedged. A standby's loop is its lease attempts, each of which ticks:
 * it is wedged after `standbyStallMs` without one (a few lease durations).
 */
export function loopAlive(
  op: { lastTick: number; standbyStallMs?: number | undefined; config: { syncIntervalSeconds: number } },
  now = Date.now(),
): boolean {
  return now - op.lastTick < (op.standbyStallMs ?? (op.config.syncIntervalSeconds * 3 + 120) * 1000);
}

/** The endpoints of a running Operator (`run`). */
export function operatorEndpoints(op: Operator): ServerDeps {
  return {
    metrics: op.metrics,
    log: op.deps.log,
    ready: () => op.ready,
    healthy: () => loopAlive(op),
    wake: () => op.wake(),
    webhookSecret: op.config.webhookSecret,
    status: operatorStatus(op),
  };
}

/** Webhook bodies are small JSON push events; anything bigger is refused before it is read. */
export const maxBodyBytes = 1024 * 1024;

/** What a handler answers; the dispatcher writes it. */
interface Reply {
  status: number;
  body: string;
  type?: string | undefined;
  headers?: Record<string, string>;
}

interface Route {
  method: 'GET' | 'POST';
  path: string;
  handler: (req: IncomingMessage) => Reply | Promise<Reply>;
  /**
   * Another method on this path gets 405 "<method> only"; without it, 404 (what the GET
   * endpoints have always answered).
   */
  refuseOtherMethods?: boolean;
}

const reply = (status: number, body: string, type?: string): Reply => ({ status, body, type });

/** The status page changes every second or so: never cached; the page is never framed. */
const page = (body: string): Reply => ({
  status: 200,
  body,
  type: 'text/html; charset=utf-8',
  headers: {
    'cache-control': 'no-store',
    'content-security-policy': contentSecurityPolicy,
    'x-content-type-options': 'nosniff',
  },
});

function routes(deps: ServerDeps): Route[] {
  const deliveries = new DeliveryLog();
  return [
    { method: 'GET', path: '/', handler: async () => page(renderPage(await deps.status())) },
    {
      method: 'GET',
      path: '/api/v1/status',
      handler: async () => ({
        ...reply(200, `${JSON.stringify(await deps.status(), null, 2)}\n`, 'application/json'),
        headers: { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
      }),
    },
    {
      method: 'GET',
      path: '/healthz',
      handler: () => (deps.healthy() ? reply(200, 'ok\n') : reply(500, 'loop stalled\n')),
    },
    {
      method: 'GET',
      path: '/readyz',
      handler: () => (deps.ready() ? reply(200, 'ok\n') : reply(503, 'no successful sync yet\n')),
    },
    {
      method: 'GET',
      path: '/metrics',
      handler: async () =>
        reply(200, await deps.metrics.registry.metrics(), deps.metrics.registry.contentType),
    },
    {
      method: 'POST',
      path: '/hooks/git',
      handler: (req) => gitHook(deps, deliveries, req),
      refuseOtherMethods: true,
    },
  ];
}

/** A push event from the git host: verified, deduplicated, then the loop is woken. */
async function gitHook(deps: ServerDeps, deliveries: DeliveryLog, req: IncomingMessage): Promise<Reply> {
  if (!deps.webhookSecret) return reply(404, 'webhook disabled: set WEBHOOK_SECRET\n');
  const body = await readLimited(req, maxBodyBytes);
  if (!body) return reply(413, `body larger than ${maxBodyBytes} bytes\n`);
  const verdict = verify(deps.webhookSecret, req.headers, body);
  if (!verdict.ok) {
    deps.log.warn({ remote: req.socket.remoteAddress }, `webhook refused: ${verdict.why}`);
    return reply(401, `${verdict.why}\n`);
  }
  if (verdict.delivery && !deliveries.first(verdict.delivery))
    return reply(200, 'duplicate delivery ignored\n');
  deps.log.info({ provider: verdict.provider }, 'webhook: syncing now');
  deps.wake();
  return reply(202, 'sync started\n');
}

function dispatch(table: readonly Route[], req: IncomingMessage): Reply | Promise<Reply> {
  const path = (req.url ?? '/').split('?')[0];
  const onPath = table.filter((r) => r.path === path);
  const route = onPath.find((r) => r.method === req.method);
  if (route) return route.handler(req);
  const refusing = onPath.find((r) => r.refuseOtherMethods);
  if (refusing) return reply(405, `${refusing.method} only\n`);
  return reply(404, 'not found\n');
}

async function serve(
  table: readonly Route[],
  log: Logger,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const send = (r: Reply) => {
    res.writeHead(r.status, { ...r.headers, 'content-type': r.type ?? 'text/plain' }).end(r.body);
  };
  try {
    send(await dispatch(table, req));
  } catch (err) {
    log.error(`http: ${(err as Error).message}`);
    if (!res.headersSent) send(reply(500, 'internal error\n'));
  }
}

export async function startServer(
  deps: ServerDeps,
  host: string,
  port: number,
): Promise<{ server: Server; port: number }> {
  const table = routes(deps);
  const server = createServer((req, res) => void serve(table, deps.log, req, res));
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/** The body, or undefined when it exceeds `limit` (the connection is then closed). */
async function readLimited(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    return undefined;
  }
  // Without a Content-Length (chunked) the size shows only while reading: past the limit, stop
  // keeping the data and discard the rest, so the client still gets its 413 (server.requestTimeout
  // bounds how long that may take). Destroying the request would reset the connection instead.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.off('end', onEnd);
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => resolve(Buffer.concat(chunks));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', reject);
    req.once('close', () => resolve(undefined)); // a client gone mid-body (no-op after 'end')
  });
}
