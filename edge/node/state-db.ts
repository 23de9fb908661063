/**
 * The Node edge's local state file (node:sqlite, built into Node 24): what a lone edge must not lose when
 * it restarts — room snapshots and the media-node registry — so that a restart within the resume grace
 * ends no meeting. One file per edge process, opened once; each user of it creates its own table.
 * `:memory:` keeps everything in memory (tests, or an operator who wants no file).
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/**
 * The file and its WAL companions are readable by the edge's user only: the registry rows hold what the
 * nodes registered (TURN secrets among it), so nobody else on the machine may read them.
 */
const PRIVATE_FILE = 0o600;

export function openStateDb(path: string): DatabaseSync {
  if (path === ':memory:') return configure(new DatabaseSync(path));
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // Created with the private mode before SQLite opens it, so it is never readable by others, not even
  // for a moment; an existing file (an older edge made it with the umask) is tightened.
  if (!existsSync(path)) closeSync(openSync(path, 'a', PRIVATE_FILE));
  chmodSync(path, PRIVATE_FILE);
  const db = configure(new DatabaseSync(path));
  for (const companion of [`${path}-wal`, `${path}-shm`]) if (existsSync(companion)) chmodSync(companion, PRIVATE_FILE);
  return db;
}

function configure(db: DatabaseSync): DatabaseSync {
  // WAL: a write is one append and an fsync-free commit (synchronous=NORMAL), enough for a crash of the
  // process (kill -9), which is what this file is for; a power loss may lose the last commits.
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 2000;');
  return db;
}
