/**
 * The edge's loggers. The Logger interface is shared with the media node (shared/logger.ts); Node passes
 * pino, other runtimes the console-backed one below.
 */
import type { Logger } from '../../shared/logger.ts';

export { errorFields, type Logger } from '../../shared/logger.ts';

export const consoleLogger: Logger = {
  debug: () => {},
  info: (f, m) => console.log(JSON.stringify({ level: 'info', msg: m, ...f })),
  warn: (f, m) => console.warn(JSON.stringify({ level: 'warn', msg: m, ...f })),
  error: (f, m) => console.error(JSON.stringify({ level: 'error', msg: m, ...f })),
};
