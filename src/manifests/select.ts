// Which entries of a git tree are this namespace's manifest files.
import { posix } from 'node:path';
import type { TreeEntry } from '../source/git.ts';
import { ManifestError } from './errors.ts';
import { limits } from './limits.ts';

const manifestFile = /\.(ya?ml|json)$/i;
/** A git tree entry's mode for a symbolic link. */
const symlink = '120000';

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
    if (!isManifestIn(folder, e.path)) continue;
    const target = e.mode === symlink ? followLink(folder, e, byPath, linkTargets) : e;
    if (target.type !== 'blob') continue; // a submodule is not a manifest
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

/** A .yaml/.yml/.json file directly in `folder`, not a dot-file. */
function isManifestIn(folder: string, path: string): boolean {
  const rel = path.slice(folder.length + 1);
  return (
    path.startsWith(`${folder}/`) && !rel.includes('/') && !rel.startsWith('.') && manifestFile.test(rel)
  );
}

/** The file a symlink names, which must be a regular file directly in `folder`. */
function followLink(
  folder: string,
  link: TreeEntry,
  byPath: ReadonlyMap<string, TreeEntry>,
  linkTargets: ReadonlyMap<string, string>,
): TreeEntry {
  const to = linkTargets.get(link.oid) ?? '';
  const resolved = posix.normalize(posix.join(folder, to));
  if (
    posix.isAbsolute(to) ||
    !resolved.startsWith(`${folder}/`) ||
    resolved.slice(folder.length + 1).includes('/')
  ) {
    throw new ManifestError(
      link.path,
      `symlink to "${to}" leaves the folder ${folder}/; only links within it are followed`,
    );
  }
  const t = byPath.get(resolved);
  if (t?.type !== 'blob' || t.mode === symlink) {
    throw new ManifestError(link.path, `symlink target "${to}" is not a file in ${folder}/`);
  }
  return t;
}

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
