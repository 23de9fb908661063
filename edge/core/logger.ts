/**
 * The logger the core writes to. Node passes pino; other runtimes pass a console-backed one. Fields are
 * structured; callers never put secrets or display names into them (participants appear by id).
 */
export interface Logger {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

export const consoleLogger: Logger = {
  debug: () => {},
  info: (f, m) => console.log(JSON.stringify({ level: 'info', msg: m, ...f })),
  warn: (f, m) => console.warn(JSON.stringify({ level: 'warn', msg: m, ...f })),
  error: (f, m) => console.error(JSON.stringify({ level: 'error', msg: m, ...f })),
};

/** Error details safe for a log line: name, message and stack, but never sent to a client. */
export function errorFields(err: unknown): object {
  return err instanceof Error ? { err: { name: err.name, message: err.message, stack: err.stack } } : { err: String(err) };
}
