// Process and network helpers shared by the control plane, the git and S3 servers, the tests and the bench.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A free TCP port on 127.0.0.1 (the kernel picks; we release it just before the server binds). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `gso-${prefix}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
}

/** A child process whose output goes to a log file, stopped with SIGTERM then SIGKILL. */
export interface Service {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Rejects if the process exits before stop() is called. */
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** Runs the child as another user (only root may): for servers that refuse to run as root. */
export interface RunAs {
  uid?: number;
  gid?: number;
}

/** Children still running: killed when this process exits, so a crashed test leaves no servers. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export function startService(
  name: string,
  command: string,
  args: readonly string[],
  opts: { logDir: string; env?: NodeJS.ProcessEnv; cwd?: string } & RunAs,
): Service {
  const logFile = join(opts.logDir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    uid: opts.uid,
    gid: opts.gid,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: false,
  });
  live.add(child);
  child.on('exit', () => live.delete(child));
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let stopping = false;
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (err) => reject(new Error(`${name}: cannot start ${command}: ${err.message}`)));
    child.on('exit', (code, signal) => {
      if (stopping) resolve(code);
      else reject(new Error(`${name} exited unexpectedly (code ${code}, signal ${signal}); see ${logFile}`));
    });
  });
  exited.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
  return {
    name,
    child,
    logFile,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      stopping = true;
      child.kill('SIGTERM');
      const done = await Promise.race([
        exited.then(
          () => true,
          () => true,
        ),
        sleep(10_000, undefined, { ref: false }).then(() => false),
      ]);
      if (!done) {
        child.kill('SIGKILL');
        await exited.catch(() => {});
      }
      log.end();
    },
  };
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  opts: { timeoutMs?: number; intervalMs?: number; service?: Service } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let lastError: unknown;
  for (;;) {
    if (opts.service) await failIfExited(opts.service);
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out waiting for ${what}${why}`);
    }
    await sleep(opts.intervalMs ?? 200);
  }
}

/** Rejects (with the service's "exited unexpectedly") once the service's process has ended. */
async function failIfExited(svc: Service): Promise<void> {
  if (svc.child.exitCode !== null || svc.child.signalCode !== null) await svc.exited;
}

export interface ExecOptions extends RunAs {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  /** SIGKILL after this long: the result's code is then null. */
  timeoutMs?: number;
}

/** Runs a command to completion with an argument array; never rejects for its exit code. */
export async function exec(
  command: string,
  args: readonly string[],
  opts: ExecOptions = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      uid: opts.uid,
      gid: opts.gid,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer =
      opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', reject);
    child.stdin.on('error', () => {}); // the child may exit before reading its input (EPIPE)
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs a command to completion with an argument array; rejects with its stderr on failure. */
export async function run(
  command: string,
  args: readonly string[],
  opts: Omit<ExecOptions, 'timeoutMs'> = {},
): Promise<{ stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await exec(command, args, opts);
  if (code === 0) return { stdout, stderr };
  throw Object.assign(new Error(`${command} ${args.join(' ')} failed (${code}): ${stderr.trim()}`), {
    code,
    stdout,
    stderr,
  });
}
