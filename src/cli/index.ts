// git-sync-operator <command>: the entry. It dispatches to one module per command (each exports its
// name, summary, options, environment and run) and prints `--help` generated from them. This is the
// one place besides config.ts that reads process.env: it hands it down to the command.
import { ConfigError, type Env } from '../config.ts';
import { commands } from './commands.ts';
import { commandHelp, usage } from './help.ts';

const names = commands.map((c) => c.name).join(', ');

/** `--help` or `-h` anywhere before a `--` asks for help. */
const asksHelp = (args: string[]) => {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
};

async function main(argv: string[], env: Env): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(`git-sync-operator: which command? one of ${names} (git-sync-operator --help)\n`);
    return 2;
  }
  if (name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    process.stdout.write(usage(commands));
    return 0;
  }
  const helpOf = name === 'help' ? rest[0] : undefined;
  const cmd = commands.find((c) => c.name === (helpOf ?? name));
  if (!cmd) {
    process.stderr.write(
      `git-sync-operator: unknown command "${helpOf ?? name}": one of ${names} (git-sync-operator --help)\n`,
    );
    return 2;
  }
  if (helpOf || asksHelp(rest)) {
    process.stdout.write(commandHelp(cmd));
    return 0;
  }
  return cmd.run(rest, env);
}

// The exit code: the command's; 2 for bad usage or configuration (one line), 1 for anything else.
try {
  process.exitCode = await main(process.argv.slice(2), process.env);
} catch (err) {
  process.stderr.write(`git-sync-operator: ${(err as Error).message}\n`);
  process.exitCode = err instanceof ConfigError ? 2 : 1;
}
