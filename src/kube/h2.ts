// Watches over HTTP/2: many streams share one TLS connection. Over HTTP/1.1 each open watch is a
// socket of its own (4,000 watches at 1,000 namespaces: ~110 KiB of native memory each), over
// HTTP/2 a session carries as many as the apiserver allows (it announces 100).
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import type { SecureContext } from 'node:tls';

/**
 * Streams per session at most; a lower limit announced by the server wins (a stream beyond it
 * would wait, unopened, for another to end: a watch never does).
 */
const streamsPerSession = 100;

/** A response being read: status, headers, and the body as text chunks. */
export interface Streamed {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: AsyncIterable<string>;
  destroy(): void;
}

interface Session {
  session: ClientHttp2Session;
  /** Streams open or being opened on it. */
  streams: number;
  /** Settled once the server's SETTINGS (its stream limit) came, or the session ended. */
  ready: Promise<void>;
}

const limit = (s: Session) =>
  Math.min(streamsPerSession, s.session.remoteSettings.maxConcurrentStreams ?? streamsPerSession);
const usable = (s: Session) => !s.session.closed && !s.session.destroyed;

export class H2Pool {
  private readonly sessions: Session[] = [];

  constructor(
    private readonly server: string,
    private readonly tls: {
      secureContext: SecureContext;
      servername?: string | undefined;
      rejectUnauthorized?: boolean | undefined;
    },
  ) {}

  /** A GET on a free stream; rejects when the connection fails or `signal` aborts first. */
  async get(path: string, headers: OutgoingHttpHeaders, signal: AbortSignal): Promise<Streamed> {
    const s = await this.session();
    let stream: ClientHttp2Stream;
    try {
      stream = s.session.request({ ...headers, ':method': 'GET', ':path': path }, { signal });
    } catch (err) {
      if (--s.streams === 0) s.session.unref();
      throw err;
    }
    s.session.ref(); // an open watch keeps the process alive, an idle session does not
    stream.once('close', () => {
      if (--s.streams === 0) s.session.unref();
    });
    // A stream can end without an error (the connection closed cleanly, the pool closed, an
    // abort): each of these ends the wait for the answer, never leaving it pending.
    const responded = await new Promise<IncomingHttpHeaders>((resolve, reject) => {
      stream.once('response', resolve);
      stream.once('error', reject);
      stream.once('close', () => reject(new Error('the HTTP/2 stream closed before its answer')));
    });
    stream.setEncoding('utf8');
    return {
      statusCode: Number(responded[':status'] ?? 0),
      headers: responded,
      body: stream as AsyncIterable<string>,
      destroy: () => stream.destroy(),
    };
  }

  /** Connections open now, each with how many streams. */
  get load(): number[] {
    return this.sessions.map((s) => s.streams);
  }

  /** Closes every session, and their streams with them (to the watches: a cut connection). */
  close(): void {
    for (const s of this.sessions.splice(0)) s.session.destroy();
  }

  /** A session with a stream to spare; the stream is counted. */
  private async session(): Promise<Session> {
    for (;;) {
      const s = this.sessions.find((x) => usable(x) && x.streams < limit(x)) ?? this.connect();
      s.streams++; // counted before the wait: callers arriving meanwhile spread over sessions
      await s.ready;
      if (s.streams <= limit(s) || !usable(s)) return s;
      s.streams--; // the server allows fewer than assumed: another session
    }
  }

  private connect(): Session {
    const session = connect(this.server, { ...this.tls, ALPNProtocols: ['h2'] });
    const ready = new Promise<void>((resolve) => {
      session.once('remoteSettings', () => resolve());
      session.once('close', () => resolve());
    });
    const s: Session = { session, streams: 0, ready };
    // Errors reach each stream; the session leaves the pool when it ends.
    session.on('error', () => {});
    session.once('close', () => {
      const i = this.sessions.indexOf(s);
      if (i >= 0) this.sessions.splice(i, 1);
    });
    session.once('goaway', () => session.close());
    // A dead peer (no RST) is found by TCP keepalive, not only when the next watch is opened.
    session.once('connect', (_s, socket) => socket.setKeepAlive(true, 30_000));
    this.sessions.push(s);
    return s;
  }
}
