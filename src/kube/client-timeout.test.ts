// KubeClient's request timeout against a real loopback socket: a server that accepts and never
// answers (as a SIGSTOPped apiserver, or a dead keep-alive connection, looks to the client).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { removeDir, tempDir } from '../../testbed/proc.ts';
import { ApiError, ApiTimeoutError, KubeClient } from './client.ts';

const timeoutMs = 500;
let dir: string;
let server: ReturnType<typeof createServer>;
let kubeconfig: string;
/** Requests received: method, path and the client port (one port per connection). */
const seen: { method: string; path: string; port: number }[] = [];
const closed = new Set<number>();
const held: ServerResponse[] = [];

function handle(req: IncomingMessage, res: ServerResponse): void {
  const port = req.socket.remotePort ?? 0;
  seen.push({ method: req.method ?? '', path: req.url ?? '', port });
  req.socket.once('close', () => closed.add(port));
  req.resume();
  const path = (req.url ?? '').split('?')[0];
  if (path === '/ok') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  } else if (path === '/half') {
    // Headers and part of the body, then nothing: the timeout covers the body too.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"items":[');
    held.push(res);
  } else if (path === '/watch') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"type":"ADDED"}\n');
    held.push(res);
  } else {
    held.push(res); // never answered
  }
}

before(async () => {
  dir = await tempDir('client-timeout');
  server = createServer(handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    `apiVersion: v1
kind: Config
current-context: t
clusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}"}}]
users: [{name: u, user: {token: t0ken}}]
contexts: [{name: t, context: {cluster: c, user: u}}]
`,
  );
});

after(async () => {
  for (const r of held) r.destroy();
  server.closeAllConnections();
  server.close();
  await removeDir(dir);
});

const client = () => new KubeClient({ kubeconfig, requestTimeoutMs: timeoutMs });

async function timed<T>(p: Promise<T>): Promise<{ err: unknown; ms: number }> {
  const t0 = performance.now();
  try {
    await p;
    return { err: undefined, ms: performance.now() - t0 };
  } catch (err) {
    return { err, ms: performance.now() - t0 };
  }
}

describe('KubeClient request timeout', () => {
  it('a GET nobody answers fails with ApiTimeoutError naming the apiserver, method and path, after one retry on a new connection', async () => {
    const c = client();
    try {
      seen.length = 0;
      const { err, ms } = await timed(c.json('GET', '/api/v1/namespaces/hung?limit=5'));
      assert.ok(err instanceof ApiTimeoutError, String(err));
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 0);
      assert.equal(err.reason, 'Timeout');
      assert.match(
        err.message,
        /^apiserver http:\/\/127\.0\.0\.1:\d+ did not answer GET \/api\/v1\/namespaces\/hung within 0\.5 s$/,
      );
      assert.ok(ms >= 2 * timeoutMs - 50 && ms < 2 * timeoutMs + 1000, `took ${ms} ms`);
      assert.deepEqual(
        seen.map((s) => s.method),
        ['GET', 'GET'],
      );
      const [first, second] = seen;
      assert.notEqual(first?.port, second?.port, 'the retry used the timed-out connection');
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(closed.has(first?.port ?? -1), 'the timed-out connection was not closed');
      // The client is still usable.
      assert.deepEqual(await c.json('GET', '/ok'), { ok: true });
    } finally {
      c.close();
    }
  });

  it('a POST is not sent again (a create may have happened); PATCH and DELETE are', async () => {
    const c = client();
    try {
      for (const [method, sends] of [
        ['POST', 1],
        ['PATCH', 2],
        ['DELETE', 2],
      ] as const) {
        seen.length = 0;
        const { err, ms } = await timed(c.json(method, '/apis/x/v1/things', { body: { a: 1 } }));
        assert.ok(err instanceof ApiTimeoutError, `${method}: ${String(err)}`);
        assert.match(err.message, new RegExp(`did not answer ${method} /apis/x/v1/things within 0.5 s`));
        assert.equal(seen.length, sends, method);
        assert.ok(ms < sends * timeoutMs + 1000, `${method} took ${ms} ms`);
      }
    } finally {
      c.close();
    }
  });

  it('the timeout covers the body: headers then silence is a timeout too', async () => {
    const c = client();
    try {
      const { err } = await timed(c.json('GET', '/half'));
      assert.ok(err instanceof ApiTimeoutError, String(err));
      assert.match(err.message, /did not answer GET \/half within 0\.5 s/);
    } finally {
      c.close();
    }
  });

  it("the caller's signal still ends a request first, and that is not reported as a timeout", async () => {
    const c = client();
    try {
      const { err, ms } = await timed(c.json('GET', '/hung', { signal: AbortSignal.timeout(100) }));
      assert.ok(err instanceof ApiError, String(err));
      assert.ok(!(err instanceof ApiTimeoutError), err.message);
      assert.ok(ms < timeoutMs, `took ${ms} ms`);
    } finally {
      c.close();
    }
  });

  it('a watch is not bounded by the request timeout: only its signal ends it', async () => {
    const c = client();
    try {
      const stop = new AbortController();
      const events: unknown[] = [];
      const t0 = performance.now();
      setTimeout(() => stop.abort(), 3 * timeoutMs);
      for await (const e of c.stream('/watch', stop.signal)) events.push(e);
      const ms = performance.now() - t0;
      assert.deepEqual(events, [{ type: 'ADDED' }]);
      assert.ok(ms >= 3 * timeoutMs - 50, `the watch ended after ${ms} ms`);
    } finally {
      c.close();
    }
  });
});
