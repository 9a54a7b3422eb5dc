// Operators as processes: in-process operators that crash and restart under a supervisor, real
// `git-sync-operator run` processes, their log lines, request recording, bounded waits.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Operator } from '../../src/operator.ts';
import { freePort, removeDir, type Service, startService, tempDir } from '../../testbed/proc.ts';
import { cliPath, root, type World } from './world.ts';

/**
 * In-process operators under a supervisor, as the kubelet restarts a crashed pod: an operator
 * whose run() throws or loses its lease is closed and replaced by a new instance (nothing kept in
 * memory) until stop().
 */
export interface Supervised {
  /** The operators started so far; the last one is the current. */
  readonly ops: Operator[];
  restarts(): number;
  stop(): Promise<void>;
}

export function supervise(
  w: World,
  extra: Record<string, string>,
  onStart?: (op: Operator) => void,
): Supervised {
  const stop = new AbortController();
  const ops: Operator[] = [];
  let restarts = 0;
  const done = (async () => {
    while (!stop.signal.aborted) {
      const op = w.operator(extra);
      ops.push(op);
      onStart?.(op);
      try {
        await op.run(stop.signal);
      } catch {
        // crashed (e.g. the apiserver was down at start): restarted below
      } finally {
        op.close();
      }
      if (stop.signal.aborted) break;
      restarts++;
      await sleep(500);
    }
  })();
  return {
    ops,
    restarts: () => restarts,
    async stop() {
      stop.abort();
      await done;
    },
  };
}

/** Every write (non-GET) an operator's client sends, except its leader-election Lease calls. */
export function recordWrites(op: Operator): string[] {
  const writes: string[] = [];
  const client = op.deps.client;
  const json = client.json.bind(client);
  client.json = ((method: string, path: string, init?: Parameters<typeof json>[2]) => {
    if (method !== 'GET' && !path.includes('/leases')) writes.push(`${method} ${path.split('?')[0]}`);
    return json(method, path, init);
  }) as typeof client.json;
  return writes;
}

/**
 * Every request an operator's client sends from now on (`METHOD path`, watches as `WATCH path`),
 * except its leader-election Lease calls: they renew every LEASE_DURATION/3 whatever the work.
 */
export function recordRequests(op: Operator): string[] {
  const seen: string[] = [];
  const client = op.deps.client;
  const json = client.json.bind(client);
  const stream = client.stream.bind(client);
  const note = (what: string, path: string) => {
    if (!path.includes('/leases/')) seen.push(`${what} ${path.split('?')[0]}`);
  };
  client.json = ((method: string, path: string, init?: Parameters<typeof json>[2]) => {
    note(method, path);
    return json(method, path, init);
  }) as typeof client.json;
  client.stream = ((path: string, signal: AbortSignal, o?: Parameters<typeof stream>[2]) => {
    note('WATCH', path);
    return stream(path, signal, o);
  }) as typeof client.stream;
  return seen;
}

/** A real `git-sync-operator run` process (bin/git-sync-operator.js), as in a pod. */
export interface RunProcess {
  svc: Service;
  url: string;
  dir: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): Promise<string>;
  /** Its JSON log lines. */
  logs(): Promise<{ msg?: string; [k: string]: unknown }[]>;
  /** SIGKILL: no clean-up at all, like a node failure or an OOM kill. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRun(w: World, name: string, extra: Record<string, string>): Promise<RunProcess> {
  const port = await freePort();
  const dir = await tempDir(`run-${name}`);
  const env = {
    ...process.env,
    ...w.env({ LISTEN_ADDRESS: `127.0.0.1:${port}`, ...extra }),
    GSO_WORK_DIR: join(dir, 'work'),
  };
  const svc = startService(name, process.execPath, [cliPath, 'run'], {
    logDir: dir,
    env,
    cwd: root,
  });
  const output = () => readFile(svc.logFile, 'utf8').catch(() => '');
  return {
    svc,
    url: `http://127.0.0.1:${port}`,
    dir,
    output,
    async logs() {
      return logLines(await output());
    },
    async kill() {
      svc.child.kill('SIGKILL');
      await svc.exited.catch(() => {});
    },
    async stop() {
      await svc.stop();
      await removeDir(dir);
    },
  };
}

/** Rejects when `p` takes longer than `ms` (a hang is a failure, never a stuck test). */
export async function within<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** JSON log lines (pino) out of a process's output; other lines are skipped. */
export function logLines(text: string): { msg?: string; [k: string]: unknown }[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as { msg?: string };
      } catch {
        return {};
      }
    });
}
