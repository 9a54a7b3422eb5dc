// The generated help is the documentation: the README's command list equals `--help`, every flag and
// every env fallback shows in `<command> --help`, and every command answers --help (and -h) with 0.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { commands } from './commands.ts';
import { commandHelp, usage } from './help.ts';

const root = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
const bin = new URL('bin/git-sync-operator.js', root).pathname;

/** The fenced block under README's "### Commands". */
function readmeCommands(): string {
  const at = readme.indexOf('### Commands\n');
  assert.ok(at >= 0, 'README has a "### Commands" section');
  const m = /```\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m?.[1], 'the Commands section has a fenced block');
  return m[1];
}

const flagsIn = (text: string) => new Set(text.match(/--[a-z][a-z0-9-]*/g));
const commandsIn = (text: string) =>
  new Set([...text.matchAll(/^ {2}git-sync-operator ([a-z]+)/gm)].map((m) => m[1]));

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("README's command list", () => {
  it('names every command and no other', () => {
    assert.deepEqual(commandsIn(readmeCommands()), new Set(commands.map((c) => c.name)));
  });

  it('shows every flag of every command, and no flag that no command has', () => {
    const documented = flagsIn(readmeCommands());
    const flags = new Set(commands.flatMap((c) => Object.keys(c.options).map((f) => `--${f}`)));
    for (const f of flags) assert.ok(documented.has(f), `README lacks ${f}`);
    for (const f of documented)
      assert.ok(flags.has(f) || f === '--help', `README shows ${f}, which no command has`);
  });

  it('is the generated `git-sync-operator --help`, exactly', () => {
    assert.equal(readmeCommands(), usage(commands));
  });
});

describe('<command> --help', () => {
  for (const cmd of commands) {
    it(`${cmd.name}: every flag, default, env fallback and variable`, () => {
      // Words, as wrapping may break a line between any two.
      const help = commandHelp(cmd).replace(/\s+/g, ' ');
      for (const [flag, o] of Object.entries(cmd.options)) {
        assert.ok(help.includes(`--${flag}`), `--${flag}`);
        if (o.default !== undefined) assert.ok(help.includes(`default ${o.default}`), `default of --${flag}`);
        if (o.env) assert.ok(help.includes(`env ${o.env}`), `env fallback of --${flag}`);
      }
      for (const name of cmd.environment) assert.ok(help.includes(` ${name}=<`), name);
    });
  }

  it('wait falls back to S3_BUCKET and CLUSTER_NAME; install and promote show their flags', () => {
    const help = (name: string) =>
      commandHelp(commands.find((c) => c.name === name) as (typeof commands)[0]).replace(/\s+/g, ' ');
    assert.match(help('wait'), /--bucket BUCKET [^-]*\(required; env S3_BUCKET\)/);
    assert.match(help('wait'), /--cluster NAME [^-]*\(required; env CLUSTER_NAME\)/);
    assert.match(help('install'), /--config-branch BRANCH CONFIG_BRANCH/);
    assert.match(help('promote'), /--interval DURATION time between two polls of S3 \(default 5s\)/);
    assert.match(help('run'), /GIT_SYNC_INTERVAL=<seconds> seconds between polls [^=]*\(default: 60\)/);
  });

  for (const cmd of commands) {
    it(`git-sync-operator ${cmd.name} --help (and -h) prints it and exits 0`, async () => {
      for (const flag of ['--help', '-h']) {
        const r = await cli(cmd.name, flag);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, commandHelp(cmd));
        assert.equal(r.stderr, '');
      }
    });
  }

  it('git-sync-operator --help prints the usage; no command or an unknown one exits 2 in one line', async () => {
    const help = await cli('--help');
    assert.equal(help.code, 0);
    assert.equal(help.stdout, usage(commands));
    for (const args of [[], ['deploy']]) {
      const r = await cli(...args);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^git-sync-operator: .*--help\)\n$/);
    }
  });

  it('an unknown option exits 2, in one line naming it and the help', async () => {
    const r = await cli('install', '--frobnicate');
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      "git-sync-operator: install: unknown option '--frobnicate' (see git-sync-operator install --help)\n",
    );
  });
});
