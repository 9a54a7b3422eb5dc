// Every command, in the order of the top-level usage (and of the README's command list).
import type { Command } from './command.ts';
import * as diff from './diff.ts';
import * as history from './history.ts';
import * as install from './install.ts';
import * as promote from './promote.ts';
import * as resume from './resume.ts';
import * as run from './run.ts';
import * as status from './status.ts';
import * as suspend from './suspend.ts';
import * as sync from './sync.ts';
import * as validate from './validate.ts';
import * as wait from './wait.ts';

export const commands: readonly Command[] = [
  run,
  sync,
  validate,
  diff,
  install,
  wait,
  promote,
  suspend,
  resume,
  history,
  status,
];
