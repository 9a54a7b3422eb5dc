// The pure parts of the partial fetch: a commit comes with its trees but no file content
// (--filter=blob:none), then the files of the folders a caller reads come in one batched fetch.
// GitSource runs the git calls; this module reads git's output and words the log lines.

/** On every commit fetch: commits and trees come, file contents (blobs) do not. */
export const treesOnly = '--filter=blob:none';

/** git's warning (LC_ALL=C) when the server ignores the filter and sends every blob. */
export const filterIgnored = (stderr: string): boolean => /filtering not recognized by server/i.test(stderr);

/**
 * The server honours filters but will not send an object by its id: protocol v0 without
 * uploadpack.allowAnySHA1InWant (protocol v2 serves any object it has).
 */
export const wantRefused = (message: string): boolean =>
  /does not allow request for unadvertised object|not our ref/i.test(message);

/** The ids that `git rev-list --objects --missing=print --no-object-names` marks missing (`?<oid>`). */
export function missingOids(out: string): string[] {
  const oids: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^\?([0-9a-f]{40}(?:[0-9a-f]{24})?)$/.exec(line.trim());
    if (m?.[1]) oids.push(m[1]);
  }
  return oids;
}

/** `folder` is one of `folders` or inside one: its blobs came with the commit's batched fetch. */
export const covered = (folders: readonly string[], folder: string): boolean =>
  folders.some((f) => folder === f || folder.startsWith(`${f}/`));

/** Logged once: what a server without filters costs, and the fix. */
export const filterIgnoredMessage =
  'the config repo server does not allow filters (partial clone): each new commit fetches its whole tree, ' +
  "every cluster's files, not only this cluster's folder; allow them on the server " +
  '(git config uploadpack.allowFilter true; GitHub, GitLab and Gitea allow them)';

/** Logged once, when the server filters but refuses to send the folder's files by id. */
export const wantRefusedMessage =
  'the config repo server allows filters but refuses to send files by id (protocol v0 without ' +
  'uploadpack.allowAnySHA1InWant): fetching the whole tree of each commit from now on; enable protocol v2 ' +
  'or set uploadpack.allowAnySHA1InWant true on the server';
