// HTTP endpoints: /healthz, /readyz, /metrics, POST /hooks/git.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
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

/** Webhook bodies are small JSON push events; anything bigger is refused before it is read. */
export const maxBodyBytes = 1024 * 1024;

export async function startServer(
  deps: ServerDeps,
  host: string,
  port: number,
): Promise<{ server: Server; port: number }> {
  const deliveries = new DeliveryLog();
  const server = createServer(async (req, res) => {
    const send = (status: number, body: string, type = 'text/plain') => {
      res.writeHead(status, { 'content-type': type }).end(body);
    };
    try {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && path === '/healthz')
        return send(deps.healthy() ? 200 : 500, deps.healthy() ? 'ok\n' : 'loop stalled\n');
      if (req.method === 'GET' && path === '/readyz')
        return send(deps.ready() ? 200 : 503, deps.ready() ? 'ok\n' : 'no successful sync yet\n');
      if (req.method === 'GET' && path === '/metrics') {
        return send(200, await deps.metrics.registry.metrics(), deps.metrics.registry.contentType);
      }
      if (path === '/hooks/git') {
        if (req.method !== 'POST') return send(405, 'POST only\n');
        if (!deps.webhookSecret) return send(404, 'webhook disabled: set WEBHOOK_SECRET\n');
        const body = await readLimited(req, maxBodyBytes);
        if (!body) return send(413, `body larger than ${maxBodyBytes} bytes\n`);
        const verdict = verify(deps.webhookSecret, req.headers, body);
        if (!verdict.ok) {
          deps.log.warn({ remote: req.socket.remoteAddress }, `webhook refused: ${verdict.why}`);
          return send(401, `${verdict.why}\n`);
        }
        if (verdict.delivery && !deliveries.first(verdict.delivery))
          return send(200, 'duplicate delivery ignored\n');
        deps.log.info({ provider: verdict.provider }, 'webhook: syncing now');
        deps.wake();
        return send(202, 'sync started\n');
      }
      send(404, 'not found\n');
    } catch (err) {
      deps.log.error(`http: ${(err as Error).message}`);
      if (!res.headersSent) send(500, 'internal error\n');
    }
  });
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
