// A configuration problem: one line naming the variable (the CLI exits 2).
import type { VariableName } from './variables.ts';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/** Reads one variable of the table: trimmed, blank = unset, else its default. */
export type Getter = (name: VariableName) => string | undefined;
