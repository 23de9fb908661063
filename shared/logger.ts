/**
 * The logger every part writes to, edge and media node alike: structured fields, then the message. pino
 * satisfies it (the Node edge and the media node pass pino loggers); the Worker passes a console-backed
 * one (edge/core/logger.ts). Callers never put secrets or display names into fields (participants
 * appear by id).
 */
export interface Logger {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

/** Error details safe for a log line: name, message and stack, but never sent to a client. */
export function errorFields(err: unknown): object {
  return err instanceof Error
    ? { err: { name: err.name, message: err.message, stack: err.stack } }
    : { err: String(err) };
}
