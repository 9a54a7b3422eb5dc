// A namespace folder on the local disk (a PR's checkout): its manifest files as the operator would
// select them from git — `.yaml`, `.yml`, `.json`, no dot-files, no sub-folders — in name order.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function localFiles(dir: string): Promise<{ path: string; text: string }[]> {
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && !e.name.startsWith('.') && /\.(ya?ml|json)$/i.test(e.name))
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (n) => ({ path: join(dir, n), text: await readFile(join(dir, n), 'utf8') })),
  );
}
