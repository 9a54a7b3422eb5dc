// A loopback HTTP proxy in front of MinIO that answers the way AWS S3 does where MinIO differs, and
// that can be told to fail.
//
// - Requests are forwarded unchanged, Host header included, so MinIO verifies the SigV4 signature
//   the client computed for the proxy's address.
// - AWS answers a caller without s3:ListBucket 403 AccessDenied for a key that does not exist (it
//   may not learn whether the key exists); MinIO answers 404 NoSuchKey. With `denyMissing` (the
//   default) every 404 NoSuchKey from MinIO becomes AWS's 403 AccessDenied.
// - inject() makes the next requests fail: 500 InternalError, 503 SlowDown, a TCP reset, or no
//   answer at all (hang).
import { randomBytes } from 'node:crypto';
import {
  Agent,
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  request,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 500 | 503 | 'reset' | 'hang';

export interface AwsLikeS3 {
  /** `http://127.0.0.1:PORT`: use it as the S3 endpoint (path-style). */
  readonly endpoint: string;
  /** Rewrite MinIO's 404 NoSuchKey into AWS's 403 AccessDenied (no s3:ListBucket). Default true. */
  denyMissing: boolean;
  /** The next requests get these faults, one request each, in order; later ones are forwarded. */
  inject(...faults: Fault[]): void;
  /** Drops faults not yet served. */
  clearFaults(): void;
  /** Faults injected but not yet served. */
  readonly pendingFaults: number;
  /** Counters since start: requests received, 404s rewritten to 403, faults served. */
  readonly stats: { readonly requests: number; readonly denied: number; readonly faults: number };
  /** Closes the listener and every connection (hung ones too). */
  stop(): Promise<void>;
}

const xmlError = (code: string, message: string): string => {
  const id = randomBytes(8).toString('hex').toUpperCase();
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${id}</RequestId>` +
    `<HostId>${randomBytes(24).toString('base64')}</HostId></Error>`
  );
};

/** An S3 error answer: `status` with AWS's XML error body. */
function answer(
  req: IncomingMessage,
  res: ServerResponse,
  { status, code, message }: { status: number; code: string; message: string },
) {
  const body = req.method === 'HEAD' ? '' : xmlError(code, message);
  const headers: OutgoingHttpHeaders = {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
    'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(),
    server: 'AmazonS3',
  };
  if (status === 503) headers['retry-after'] = '1';
  req.resume(); // drain a request body, if any
  res.writeHead(status, headers);
  res.end(body);
}

/** Starts the proxy for the MinIO at `upstream` (`http://127.0.0.1:PORT`). */
export async function startAwsLikeS3(upstream: string): Promise<AwsLikeS3> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true });
  const faults: Fault[] = [];
  const stats = { requests: 0, denied: 0, faults: 0 };
  const state = { denyMissing: true };

  function forward(req: IncomingMessage, res: ServerResponse): void {
    const up = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers, // Host too: it is part of the signature
        agent,
      },
      (ur) => {
        const status = ur.statusCode ?? 502;
        if (!(state.denyMissing && status === 404)) {
          res.writeHead(status, ur.headers);
          ur.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        ur.on('data', (c: Buffer) => chunks.push(c));
        ur.on('end', () => {
          const body = Buffer.concat(chunks);
          // A HEAD of a missing key has no body; AWS answers it 403 as well.
          if (req.method === 'HEAD' || body.includes('<Code>NoSuchKey</Code>')) {
            stats.denied++;
            answer(req, res, { status: 403, code: 'AccessDenied', message: 'Access Denied' });
          } else {
            res.writeHead(status, ur.headers);
            res.end(body);
          }
        });
      },
    );
    up.on('error', (err) => {
      if (!res.headersSent)
        answer(req, res, { status: 502, code: 'BadGateway', message: `proxy: ${err.message}` });
      else res.destroy(err);
    });
    req.pipe(up);
  }

  const server = createServer((req, res) => {
    stats.requests++;
    const fault = faults.shift();
    if (fault === undefined) return forward(req, res);
    stats.faults++;
    if (fault === 'reset') req.socket.resetAndDestroy();
    else if (fault === 500)
      answer(req, res, {
        status: 500,
        code: 'InternalError',
        message: 'We encountered an internal error. Please try again.',
      });
    else if (fault === 503)
      answer(req, res, { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' });
    // 'hang': read the request, never answer (until the client gives up or stop()).
    else req.resume();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    get denyMissing() {
      return state.denyMissing;
    },
    set denyMissing(on: boolean) {
      state.denyMissing = on;
    },
    inject(...more) {
      faults.push(...more);
    },
    clearFaults() {
      faults.length = 0;
    },
    get pendingFaults() {
      return faults.length;
    },
    stats,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
