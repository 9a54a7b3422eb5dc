// The README's configuration table is the variable table: same variables, same order, same
// meaning and default. Edit src/config/variables.ts and paste markdownTable() into the README.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { defaultCell, markdownTable, variables } from './variables.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The rows of the table under "### Configuration (environment)": name, meaning, default. */
function readmeRows(): { name: string; doc: string; default: string }[] {
  const at = readme.indexOf('### Configuration (environment)\n');
  assert.ok(at >= 0, 'README has a "### Configuration (environment)" section');
  const lines = readme.slice(at).split('\n').slice(1);
  const start = lines.findIndex((l) => l.startsWith('|'));
  const table = lines.slice(
    start,
    lines.findIndex((l, i) => i > start && !l.startsWith('|')),
  );
  return table.slice(2).map((row) => {
    const cells = row
      .slice(1, -1)
      .split(' | ')
      .map((c) => c.trim());
    assert.equal(cells.length, 3, `three cells in ${row}`);
    return {
      name: (cells[0] as string).replaceAll('`', ''),
      doc: cells[1] as string,
      default: cells[2] as string,
    };
  });
}

describe("README's configuration table", () => {
  it('lists every variable git-sync-operator reads, and only those, in the same order', () => {
    assert.deepEqual(
      readmeRows().map((r) => r.name),
      variables.map((v) => v.name),
    );
  });

  it('gives each the default loadConfig uses', () => {
    const defaults = new Map(readmeRows().map((r) => [r.name, r.default]));
    for (const v of variables) assert.equal(defaults.get(v.name), defaultCell(v), v.name);
  });

  it('gives each the meaning --help prints', () => {
    const docs = new Map(readmeRows().map((r) => [r.name, r.doc]));
    for (const v of variables) assert.equal(docs.get(v.name), v.doc, v.name);
  });

  it('is markdownTable(), exactly', () => {
    assert.ok(readme.includes(`${markdownTable()}\n`), 'paste markdownTable() into the README');
  });
});
