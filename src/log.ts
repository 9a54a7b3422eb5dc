// JSON logs (pino) on stdout. Messages pass through redact(): no secret reaches a log line.
import { type Logger, pino } from 'pino';
import { redact } from './source/redact.ts';

export type { Logger };

/** `level`: LOG_LEVEL as config.ts's logLevel() read and checked it. */
export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { app: 'git-sync-operator' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    hooks: {
      logMethod(args, method) {
        method.apply(
          this,
          args.map((a) => (typeof a === 'string' ? redact(a) : a)) as Parameters<typeof method>,
        );
      },
    },
    redact: {
      paths: ['*.password', '*.token', '*.secret', '*.secretAccessKey', '*.data', '*.stringData'],
      censor: '***',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
