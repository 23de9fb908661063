import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStateDb } from '../../edge/node/state-db.ts';

/** The permission bits other users would need to read or write the file (group and others). */
const sharedBits = (path: string) => statSync(path).mode & 0o077;

test('state file: a new file and its WAL are readable by the edge user only, whatever the umask', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'treffpunkt-state-db-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'sub', 'state.sqlite');
  const umask = process.umask(0o000);
  try {
    const db = openStateDb(file);
    db.exec('CREATE TABLE t (v TEXT); INSERT INTO t VALUES (1);');
    assert.equal(sharedBits(file), 0);
    assert.equal(sharedBits(`${file}-wal`), 0, 'SQLite gives the WAL the mode of the database file');
    assert.equal(sharedBits(join(dir, 'sub')), 0);
    db.close();
  } finally {
    process.umask(umask);
  }
});

test('state file: an existing world-readable file is tightened when opened', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'treffpunkt-state-db-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'state.sqlite');
  writeFileSync(file, '');
  chmodSync(file, 0o644);
  const db = openStateDb(file);
  assert.equal(sharedBits(file), 0);
  db.close();
});
