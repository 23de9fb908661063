/**
 * The Node edge's local state file (node:sqlite, built into Node 24): what a lone edge must not lose when
 * it restarts — room snapshots and the media-node registry — so that a restart within the resume grace
 * ends no meeting. One file per edge process, opened once; each user of it creates its own table.
 * `:memory:` keeps everything in memory (tests, or an operator who wants no file).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export function openStateDb(path: string): DatabaseSync {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  // WAL: a write is one append and an fsync-free commit (synchronous=NORMAL), enough for a crash of the
  // process (kill -9), which is what this file is for; a power loss may lose the last commits.
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 2000;');
  return db;
}
