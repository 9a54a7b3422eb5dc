// A world whose config repo lives on a real Gitea: the operator follows it over HTTP with a token
// and Gitea's own push webhook wakes it. Commits are made in the world's repo and pushed to Gitea.
import { randomBytes } from 'node:crypto';
import type { RepoChanges } from '../../testbed/git.ts';
import { type Gitea, type GiteaRepo, startGitea } from '../../testbed/gitea.ts';
import { type RunProcess, startRun } from './processes.ts';
import { startWorld, type World } from './world.ts';

export interface GiteaBed {
  /** Control plane, S3, and the local config repo that feeds Gitea. */
  readonly w: World;
  readonly gitea: Gitea;
  /** The Gitea repository the operator follows (owner `gitea.user`). */
  readonly repo: GiteaRepo;
  /** WEBHOOK_SECRET of operators started by the bed, and the secret of their webhooks. */
  readonly webhookSecret: string;
  /** Commits into the world's repo and pushes it to Gitea; returns the full sha. */
  commit(files: RepoChanges, message: string): Promise<string>;
  /**
   * What an operator following Gitea needs on top of `w.env()`: CONFIG_REPO with the token (the
   * URL is a secret), WEBHOOK_SECRET, GIT_SYNC_INTERVAL 3600 (only a webhook explains a fast
   * sync); `extra` last. Pass it to `w.operator()`, `w.cli()` or `startRun()`.
   */
  env(extra?: Record<string, string>): Record<string, string>;
  /**
   * A real `git-sync-operator run` with `env(extra)`, and a Gitea push webhook to its /hooks/git
   * (signed with `webhookSecret`). Stopped by `stop()`.
   */
  startOperator(name: string, extra?: Record<string, string>): Promise<{ op: RunProcess; hookId: number }>;
  stop(): Promise<void>;
}

export async function giteaBed(opts: {
  namespaces: string[];
  files: Record<string, string>;
  cluster?: string;
}): Promise<GiteaBed> {
  const [w, gitea] = await Promise.all([startWorld(opts), startGitea()]);
  const runs: RunProcess[] = [];
  const stop = async () => {
    await Promise.allSettled(runs.map((r) => r.stop()));
    await Promise.allSettled([gitea.stop(), w.stop()]);
  };
  try {
    const repo = await gitea.createRepo('config');
    await gitea.pushFrom(w.repo.bareDir, repo);
    const webhookSecret = `hook-${randomBytes(8).toString('hex')}`;
    const env = (extra: Record<string, string> = {}) => ({
      CONFIG_REPO: gitea.cloneUrl(repo, true),
      WEBHOOK_SECRET: webhookSecret,
      GIT_SYNC_INTERVAL: '3600',
      ...extra,
    });
    return {
      w,
      gitea,
      repo,
      webhookSecret,
      async commit(files, message) {
        const sha = await w.repo.commit(files, message);
        await gitea.pushFrom(w.repo.bareDir, repo);
        return sha;
      },
      env,
      async startOperator(name, extra = {}) {
        const op = await startRun(w, name, env(extra));
        runs.push(op);
        const hookId = await gitea.addPushWebhook(repo, `${op.url}/hooks/git`, webhookSecret);
        return { op, hookId };
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
