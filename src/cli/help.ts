// `--help`, generated from the commands' exports and the variable table (nothing hand-written to go
// stale). The top-level usage is also the README's command list (a test keeps them equal).
import { type Variable, variable } from '../config/variables.ts';
import type { Command, OptionSpec } from './command.ts';

const width = 100;
const plain = (s: string) => s.replaceAll('`', '');

/** Words of `text` in lines of at most `width`, every line but the first indented by `indent`. */
function wrap(text: string, indent: number, first = indent): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const room = width - (lines.length === 0 ? first : indent);
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

function flagText(flag: string, o: OptionSpec): string {
  const value = o.type === 'string' ? ` ${o.value ?? 'VALUE'}${o.multiple ? '…' : ''}` : '';
  return `--${flag}${value}`;
}

/** `git-sync-operator wait --bucket BUCKET … [--timeout DURATION]`, wrapped. */
export function synopsis(cmd: Command): string {
  const parts = [`git-sync-operator ${cmd.name}`];
  if (cmd.positionals) parts.push(cmd.positionals);
  for (const [flag, o] of Object.entries(cmd.options))
    parts.push(o.required ? flagText(flag, o) : `[${flagText(flag, o)}]`);
  // Wrap between parts only, never inside "[--flag VALUE]".
  const lines: string[] = [];
  let line = '';
  for (const p of parts) {
    if (line && line.length + 1 + p.length > width - 2) {
      lines.push(line);
      line = `    ${p}`;
    } else line = line ? `${line} ${p}` : p;
  }
  lines.push(line);
  return lines.join('\n  ');
}

/** git-sync-operator --help: every command with its synopsis (every flag) and summary. */
export function usage(commands: readonly Command[]): string {
  const body = commands.map((c) => `  ${synopsis(c)}\n      ${wrap(c.summary, 6)}`);
  return [
    'usage: git-sync-operator <command> [options]',
    '',
    ...body,
    '',
    'git-sync-operator <command> --help lists its options and the environment it reads.',
    '',
  ].join('\n');
}

function optionLines(cmd: Command): string[] {
  const rows = Object.entries(cmd.options).map(([flag, o]) => {
    const notes = [
      o.required ? 'required' : '',
      o.default !== undefined ? `default ${o.default}` : '',
      o.env ? `env ${o.env}` : '',
    ].filter(Boolean);
    return [flagText(flag, o), notes.length ? `${o.doc} (${notes.join('; ')})` : o.doc] as const;
  });
  rows.push(['-h, --help', 'this help']);
  const col = Math.min(Math.max(...rows.map(([f]) => f.length)) + 4, 30);
  return rows.map(([f, doc]) =>
    f.length + 4 > col
      ? `  ${f}\n${' '.repeat(col)}${wrap(doc, col)}`
      : `  ${f.padEnd(col - 2)}${wrap(doc, col)}`,
  );
}

function variableLine(v: Variable): string {
  const head = `  ${v.name}=<${v.type}>`;
  const secret = v.secret ? ' Secret: never printed or logged.' : '';
  const doc = `${plain(v.doc)} (default: ${plain(defaultOf(v))}).${secret}`;
  return `${head}\n      ${wrap(doc, 6)}`;
}

function defaultOf(v: Variable): string {
  return v.defaultText ?? v.value ?? '—';
}

/** git-sync-operator <command> --help. */
export function commandHelp(cmd: Command): string {
  const out = [`usage: ${synopsis(cmd)}`, '', wrap(cmd.summary, 0), '', 'options:', ...optionLines(cmd)];
  if (cmd.environment.length > 0)
    out.push('', 'environment:', ...cmd.environment.map((n) => variableLine(variable(n))));
  return `${out.join('\n')}\n`;
}
