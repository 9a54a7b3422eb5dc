// A webhook receiver on 127.0.0.1, as a team's deploy tracker or Slack would be: it checks each
// request's X-Signature (HMAC-SHA256 over the exact body), records what it accepted, and can be
// told to fail (HTTP 500) or to hang, to play a dead or slow sink.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
  at: number;
}

export type Mode = 'ok' | 'fail' | 'hang';

export interface Receiver {
  url: string;
  /** Requests answered 2xx, in arrival order. */
  accepted: Received[];
  /** Requests refused: a bad signature, or answered 500 while failing. */
  refused: { path: string; why: string }[];
  /** When each request left unanswered (mode `hang`) arrived. */
  hungAt: number[];
  mode: Mode;
  stop(): Promise<void>;
}

export async function startReceiver(secret?: string): Promise<Receiver> {
  const hung: ServerResponse[] = [];
  const r: Receiver = { url: '', accepted: [], refused: [], hungAt: [], mode: 'ok', stop: async () => {} };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const path = req.url ?? '';
      if (secret && !signed(secret, body, req.headers['x-signature'])) {
        r.refused.push({ path, why: 'bad signature' });
        res.writeHead(401).end('bad signature');
        return;
      }
      if (r.mode === 'hang') {
        r.hungAt.push(Date.now());
        hung.push(res);
        return;
      }
      if (r.mode === 'fail') {
        r.refused.push({ path, why: 'failing' });
        res.writeHead(500).end('down');
        return;
      }
      r.accepted.push({ path, headers: req.headers, body, json: JSON.parse(body), at: Date.now() });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  r.stop = async () => {
    for (const res of hung) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
  };
  return r;
}

function signed(secret: string, body: string, header: string | string[] | undefined): boolean {
  const want = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const got = Buffer.from(typeof header === 'string' ? header : '');
  return got.length === want.length && timingSafeEqual(got, want);
}
