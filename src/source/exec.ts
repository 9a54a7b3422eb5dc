// Runs git as an argument array (never through a shell), with a time limit.
import { spawn } from 'node:child_process';

export class GitExit extends Error {
  constructor(
    readonly args: readonly string[],
    /** git's stderr, or why it never ran / was killed. */
    readonly stderr: string,
    readonly timedOut: boolean,
    readonly notFound: boolean,
  ) {
    super(`git ${args[0]}: ${stderr.trim() || 'failed'}`);
    this.name = 'GitExit';
  }
}

export interface GitRun {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Written to git's stdin (stdin is closed otherwise). */
  input?: string | undefined;
  timeoutMs?: number | undefined;
}

/** git's stdout; rejects with GitExit on a non-zero exit, a timeout (SIGKILL) or no git at all. */
export async function runGit(args: readonly string[], opts: GitRun): Promise<Buffer> {
  return (await runGitOutput(args, opts)).stdout;
}

/** As runGit, with git's stderr of a successful run too (its warnings). */
export function runGitOutput(
  args: readonly string[],
  opts: GitRun,
): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    child.stdout?.on('data', (d: Buffer) => chunks.push(d));
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new GitExit(args, err.message, false, true));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0 && !timedOut) resolve({ stdout: Buffer.concat(chunks), stderr });
      else reject(new GitExit(args, stderr, timedOut, false));
    });
    if (child.stdin) {
      child.stdin.on('error', () => {}); // git may exit before reading all input
      child.stdin.end(opts.input);
    }
  });
}
