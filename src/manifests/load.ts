// One namespace's folder at one commit → the validated set of objects to apply.
import type { GitSource } from '../source/git.ts';
import { ManifestError, ManifestSetError } from './errors.ts';
import { limits } from './limits.ts';
import { refKey, refOf } from './object.ts';
import { type ParsedObject, parseFile } from './parse.ts';
import { selectFiles } from './select.ts';

export interface ManifestSet {
  folder: string;
  files: string[];
  objects: ParsedObject[];
}

/**
 * Loads `cluster/namespace/` at `sha`. Any problem in any file rejects the whole set
 * (ManifestSetError listing each file); a missing folder, or one whose files hold no object,
 * is an error too, never a wish to delete everything.
 */
export async function loadNamespace(
  git: GitSource,
  sha: string,
  cluster: string,
  namespace: string,
): Promise<ManifestSet> {
  const folder = `${cluster}/${namespace}`;
  const entries = await git.list(sha, folder);
  const links = entries.filter((e) => e.mode === '120000');
  const linkBlobs = await git.readBlobs(links.map((e) => e.oid));
  const linkTargets = new Map([...linkBlobs].map(([oid, b]) => [oid, b.toString('utf8')]));
  const selected = selectFiles(folder, entries, linkTargets);
  if (selected.length === 0) {
    throw new ManifestSetError([new ManifestError(`${folder}/`, noFiles)]);
  }
  const blobs = await git.readBlobs([...new Set(selected.map((f) => f.oid))]);
  return parseSet(
    folder,
    namespace,
    selected.map((f) => ({ path: f.path, text: blobs.get(f.oid)?.toString('utf8') ?? '' })),
  );
}

const noFiles = 'is missing or has no .yaml/.yml/.json files; nothing is applied or pruned';

/** Parses and cross-checks a folder's files (shared by the git path and `validate DIR`). */
export function parseSet(
  folder: string,
  namespace: string,
  files: { path: string; text: string }[],
): ManifestSet {
  const { objects, errors } = parseFiles(files, namespace);
  errors.push(...duplicates(objects));
  // Comments only, `---` only, `null`, an empty List, any mix: the same as a missing folder.
  if (objects.length === 0 && errors.length === 0) errors.push(emptyFolder(folder, files.length));
  if (objects.length > limits.objectsPerNamespace) {
    errors.push(
      new ManifestError(
        folder,
        `holds ${objects.length} objects; the limit is ${limits.objectsPerNamespace}`,
      ),
    );
  }
  if (errors.length > 0)
    throw new ManifestSetError(
      errors,
      objects.map((o) => ({ kind: o.object.kind, name: o.object.metadata.name })),
    );
  return { folder, files: files.map((f) => f.path), objects };
}

/** Every file is parsed, so one error does not hide the next file's. */
function parseFiles(
  files: { path: string; text: string }[],
  namespace: string,
): { objects: ParsedObject[]; errors: ManifestError[] } {
  const errors: ManifestError[] = [];
  const objects: ParsedObject[] = [];
  for (const f of files) {
    try {
      objects.push(...parseFile(f.path, f.text, namespace));
    } catch (err) {
      if (err instanceof ManifestError) errors.push(err);
      else throw err;
    }
  }
  return { objects, errors };
}

/** An error for each object defined again after its first definition. */
function duplicates(objects: readonly ParsedObject[]): ManifestError[] {
  const errors: ManifestError[] = [];
  const seen = new Map<string, string>();
  for (const o of objects) {
    const key = refKey(refOf(o.object));
    const first = seen.get(key);
    if (first)
      errors.push(
        new ManifestError(o.source, `${o.object.kind}/${o.object.metadata.name} is also defined in ${first}`),
      );
    else seen.set(key, o.source);
  }
  return errors;
}

function emptyFolder(folder: string, fileCount: number): ManifestError {
  if (fileCount === 0) return new ManifestError(`${folder}/`, noFiles);
  const files = fileCount === 1 ? 'file is' : `${fileCount} files are`;
  return new ManifestError(
    `${folder}/`,
    `has no objects (its ${files} empty, comments, null or empty Lists); nothing is applied or pruned`,
  );
}
