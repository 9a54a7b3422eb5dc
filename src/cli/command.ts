// What a command is: its name, one-line summary, options and environment, and run(). index.ts
// dispatches on these and help.ts prints `--help` from them, so the help cannot go stale.
import { parseArgs } from 'node:util';
import { read } from '../config/variables.ts';
import { ConfigError, type Env, type VariableName } from '../config.ts';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** The value's name in help (string options): --bucket BUCKET. */
  readonly value?: string;
  readonly default?: string;
  /** May be given more than once (string options). */
  readonly multiple?: boolean;
  /** Shown without brackets in the synopsis; the command checks it (some are conditional). */
  readonly required?: boolean;
  /** The variable read when the flag is not given. */
  readonly env?: VariableName;
  readonly doc: string;
}

export type Options = Readonly<Record<string, OptionSpec>>;

export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Positional arguments in the synopsis, e.g. 'DIR'. */
  readonly positionals?: string;
  readonly options: Options;
  /** The variables the command reads; --help lists them with their defaults and docs. */
  readonly environment: readonly VariableName[];
  /** `env`: the process environment, handed down by the entry. Resolves to the exit code. */
  run(args: string[], env: Env): Promise<number>;
}

/** Bad usage: exit 2 with one line (what is wrong, what to do). */
export class UsageError extends ConfigError {}

type Value<S extends OptionSpec> = S['type'] extends 'boolean'
  ? boolean
  : S extends { multiple: true }
    ? string[]
    : S extends { default: string }
      ? string
      : string | undefined;

export type Values<O extends Options> = { -readonly [K in keyof O]: Value<O[K]> };

/**
 * Parses `args` by the command's options (node:util parseArgs, strict): booleans default to false,
 * a missing flag with `env` falls back to that variable. Unknown options are a UsageError.
 */
export function parse<O extends Options>(
  cmd: { name: string; options: O; positionals?: string },
  args: string[],
  env: Env,
): { values: Values<O>; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; default?: string }> = {};
  for (const [flag, o] of Object.entries(cmd.options))
    options[flag] = { type: o.type, ...(o.multiple ? { multiple: true } : {}) };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: cmd.positionals !== undefined, strict: true });
  } catch (err) {
    // "Unknown option '--foo'. To specify a positional…": the first sentence, lower-cased.
    const why = (err as Error).message.split('. ')[0] ?? '';
    const problem = why.charAt(0).toLowerCase() + why.slice(1);
    throw new UsageError(cmd.name, `${problem} (see git-sync-operator ${cmd.name} --help)`);
  }
  const values: Record<string, unknown> = { ...parsed.values };
  for (const [flag, o] of Object.entries(cmd.options)) {
    if (values[flag] !== undefined) continue;
    if (o.type === 'boolean') values[flag] = false;
    else if (o.multiple) values[flag] = [];
    else values[flag] = (o.env && read(env, o.env)) || o.default;
  }
  return { values: values as Values<O>, positionals: parsed.positionals };
}

/** A required value: `--flag: is required` (exit 2). */
export function need(value: string | undefined, flag: string): string {
  if (!value) throw new ConfigError(flag, 'is required');
  return value;
}
