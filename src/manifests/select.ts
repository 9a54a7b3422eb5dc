// Which entries of a git tree are this namespace's manifest files.
import { posix } from 'node:path';
import type { TreeEntry } from '../source/git.ts';
import { ManifestError } from './errors.ts';
import { limits } from './limits.ts';

const manifestFile = /\.(ya?ml|json)$/i;

export interface SelectedFile {
  /** Path shown in errors, relative to the repo root. */
  path: string;
  /** Blob to read (for a symlink, the blob of its target). */
  oid: string;
}

/**
 * Manifest files directly in `folder`: .yaml/.yml/.json, no dot-files, no sub-folders. A symlink
 * is followed only when its target stays inside the folder; one that leaves it is an error.
 * `linkTargets` maps a symlink's oid to its target text (read by the caller).
 */
export function selectFiles(
  folder: string,
  entries: readonly TreeEntry[],
  linkTargets: ReadonlyMap<string, string>,
): SelectedFile[] {
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const out: SelectedFile[] = [];
  let total = 0;
  for (const e of entries) {
    const rel = e.path.slice(folder.length + 1);
    if (!e.path.startsWith(`${folder}/`) || rel.includes('/') || rel.startsWith('.')) continue;
    if (!manifestFile.test(rel)) continue;
    let target = e;
    if (e.mode === '120000') {
      const link = linkTargets.get(e.oid) ?? '';
      const resolved = posix.normalize(posix.join(folder, link));
      if (
        posix.isAbsolute(link) ||
        !resolved.startsWith(`${folder}/`) ||
        resolved.slice(folder.length + 1).includes('/')
      ) {
        throw new ManifestError(
          e.path,
          `symlink to "${link}" leaves the folder ${folder}/; only links within it are followed`,
        );
      }
      const t = byPath.get(resolved);
      if (t?.type !== 'blob' || t.mode === '120000') {
        throw new ManifestError(e.path, `symlink target "${link}" is not a file in ${folder}/`);
      }
      target = t;
    } else if (e.type !== 'blob') {
      continue; // a submodule is not a manifest
    }
    if (target.size > limits.fileBytes) {
      throw new ManifestError(
        e.path,
        `is ${mib(target.size)}; the limit is ${mib(limits.fileBytes)} per file`,
      );
    }
    total += target.size;
    if (total > limits.folderBytes) {
      throw new ManifestError(folder, `holds more than ${mib(limits.folderBytes)} of manifests`);
    }
    out.push({ path: e.path, oid: target.oid });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
