// The environment is read in one place: config.ts (the table's loader) and the CLI entry, which
// hands it down. Everything else takes an env object or configuration values.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { it } from 'node:test';

const src = new URL('../', import.meta.url).pathname;
const allowed = new Set([
  'config.ts',
  'cli/index.ts',
  // The fault suite's test knob (GSO_FAILPOINT, in the table), read at the step it kills.
  'failpoint.ts',
]);

/** The text without comments (a comment may mention process.env). */
const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? modules(join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

it('no module but config.ts and the CLI entry reads process.env', () => {
  const readers = modules(src)
    .filter((f) => /\bprocess\.env\b/.test(code(readFileSync(f, 'utf8'))))
    .map((f) => relative(src, f));
  assert.deepEqual(
    readers.filter((f) => !allowed.has(f)),
    [],
  );
});
