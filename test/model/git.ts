// History rewrites the ConfigRepo fixture has no single call for.
import type { ConfigRepo, RepoChanges } from '../../testbed/git.ts';

const TMP = 'gso-model-rewrite';

/**
 * A new commit whose parent is `parentSha` (an older commit), then the branch force-pushed to it:
 * one ref update, so no poll can see the branch at the parent in between. `changes` apply on top
 * of the parent's tree.
 */
export async function commitOnto(
  repo: ConfigRepo,
  parentSha: string,
  changes: RepoChanges,
  message: string,
): Promise<string> {
  await repo.resetBranch(TMP, parentSha);
  try {
    const sha = await repo.commit(changes, message, { branch: TMP });
    await repo.forcePush(sha);
    return sha;
  } finally {
    await repo.deleteBranch(TMP).catch(() => {});
  }
}
