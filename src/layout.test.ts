// The README's Layout section is the tree: every module and folder of src/ and every top-level
// folder of the repository is named there, and nothing named there is missing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { it } from 'node:test';

const root = new URL('../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');

/** The code block under "## Layout". */
function layout(): string[] {
  const at = readme.indexOf('## Layout\n');
  assert.ok(at >= 0, 'README has a "## Layout" section');
  const block = readme.slice(at).split('```')[1] ?? '';
  return block.split('\n');
}

/**
 * Names the entry lines at `indent` give: the first word (`name/` or `name.ts`), and a module that
 * shares the line after a `;` (`leader.ts  Lease-based …;  metrics.ts  …`). Continuation lines are
 * indented deeper and name nothing.
 */
const named = (lines: string[], indent: number) =>
  new Set(
    lines
      .filter((l) => l.length - l.trimStart().length === indent)
      .flatMap((l) =>
        l
          .trim()
          .split(/\s+/)
          .filter((_, i, words) => i === 0 || words[i - 1]?.endsWith(';')),
      )
      .filter((w) => /^[\w.-]+(\/|\.ts)$/.test(w)),
  );

it('names every folder and module of src/, and only those', () => {
  const lines = layout();
  const start = lines.indexOf('src/');
  const end = lines.findIndex((l, i) => i > start && /^\S/.test(l));
  const documented = named(lines.slice(start + 1, end), 2);
  const actual = readdirSync(new URL('src/', root), { withFileTypes: true })
    .filter((e) => e.isDirectory() || (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')))
    .map((e) => (e.isDirectory() ? `${e.name}/` : e.name));
  assert.deepEqual(
    actual.filter((n) => !documented.has(n)),
    [],
    'in src/ but not in the README layout',
  );
  assert.deepEqual(
    [...documented].filter((n) => !actual.includes(n)),
    [],
    'in the README layout but not in src/',
  );
});

it('names every top-level folder of the repository', () => {
  const documented = named(layout(), 0);
  const tracked = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f.includes('/') && !f.startsWith('.'))
    .map((f) => `${f.slice(0, f.indexOf('/'))}/`);
  assert.deepEqual(
    [...new Set(tracked)].filter((d) => !documented.has(d)),
    [],
    'top-level folders missing from the README layout',
  );
});
