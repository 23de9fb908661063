/**
 * Media node credentials from a file the Node edge watches (TREFFPUNKT_NODE_SECRETS_FILE; issue 12:
 * "node credentials can be added and revoked without restarting any edge"). The file holds what
 * TREFFPUNKT_NODE_SECRETS holds (JSON or the short form). It is read at start, and again when it
 * changes (fs.watch on its directory, so that an editor's or a deploy tool's rename is seen too) or on
 * SIGHUP. A file that does not parse keeps the credentials in force and logs an error; a readable by
 * group or others is refused like the media node's secret file.
 *
 * The new credentials replace the old in the very maps the edge's config holds (EdgeConfig.nodeSecrets,
 * nodePins), so every part that checks or signs sees them at once: a node added can register at its
 * next attempt, a node removed is refused at its next request (its signature no longer verifies) and is
 * no longer selected or called.
 *
 * The admin API (docs/admin-api.md) changes credentials through this same file: `put` and `revoke` read
 * it, change one entry, write the whole in JSON form to a temporary file (mode 600, same directory) and
 * rename it over the file, then reload at once. The file stays the one source of truth, and survives a
 * restart; the watcher's own reload that follows finds nothing new.
 */
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  watch,
  writeSync,
  type FSWatcher,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { AdminNodeCredential, AdminNodeCredentials } from '../../shared/admin.ts';
import { ErrorCode, TreffpunktError } from '../../shared/errors.ts';
import { ConfigError, parseNodeCredentials, type NodePin } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';

export const NODE_SECRETS_FILE = 'TREFFPUNKT_NODE_SECRETS_FILE';

/** The file's text; throws ConfigError when it cannot be read or others may read it. */
export function readNodeSecretsFile(path: string): string {
  let mode: number;
  let text: string;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`${NODE_SECRETS_FILE}: cannot read ${path}: ${(err as Error).message}`]);
  }
  if (mode & 0o077)
    throw new ConfigError([`${NODE_SECRETS_FILE}: ${path} is readable by group or others; chmod 600 it`]);
  return text.trim();
}

export class NodeSecretsFile {
  readonly #path: string;
  readonly #secrets: Map<string, readonly string[]>;
  readonly #pins: Map<string, NodePin>;
  readonly #allowInsecureHttp: boolean;
  readonly #log: Logger;
  #watcher: FSWatcher | undefined;
  #debounce: NodeJS.Timeout | undefined;
  readonly #onHup = () => this.reload('SIGHUP');

  /** `secrets`, `pins`: the maps of the running config (they are changed in place). */
  constructor(
    path: string,
    target: { secrets: ReadonlyMap<string, readonly string[]>; pins: ReadonlyMap<string, NodePin> },
    allowInsecureHttp: boolean,
    log: Logger,
  ) {
    this.#path = path;
    // The config's maps are Maps; the edge reads them as ReadonlyMap everywhere else.
    this.#secrets = target.secrets as Map<string, readonly string[]>;
    this.#pins = target.pins as Map<string, NodePin>;
    this.#allowInsecureHttp = allowInsecureHttp;
    this.#log = log;
  }

  start(): this {
    const name = basename(this.#path);
    this.#watcher = watch(dirname(this.#path), (_event, file) => {
      if (file !== null && file !== name) return;
      // One reload per burst of events (a write is often several).
      clearTimeout(this.#debounce);
      this.#debounce = setTimeout(() => this.reload('changed'), 100);
    });
    this.#watcher.unref();
    process.on('SIGHUP', this.#onHup);
    return this;
  }

  stop(): void {
    this.#watcher?.close();
    clearTimeout(this.#debounce);
    process.off('SIGHUP', this.#onHup);
  }

  /** Reads the file again; on any problem the credentials in force stay. Returns whether it took the new ones. */
  reload(why: 'changed' | 'SIGHUP' | 'admin'): boolean {
    let next: ReturnType<typeof parseNodeCredentials>;
    try {
      next = parseNodeCredentials(readNodeSecretsFile(this.#path), this.#allowInsecureHttp);
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
      this.#log.error(
        { file: this.#path, why, problems },
        'media node credentials file not taken: the credentials in force stay',
      );
      return false;
    }
    const before = new Set(this.#secrets.keys());
    const added = [...next.secrets.keys()].filter((id) => !before.has(id));
    const removed = [...before].filter((id) => !next.secrets.has(id));
    const changed = [...next.secrets.keys()].filter(
      (id) => before.has(id) && next.secrets.get(id)!.join('|') !== this.#secrets.get(id)!.join('|'),
    );
    this.#secrets.clear();
    for (const [id, list] of next.secrets) this.#secrets.set(id, list);
    this.#pins.clear();
    for (const [id, pin] of next.pins) this.#pins.set(id, pin);
    if (added.length + removed.length + changed.length > 0)
      this.#log.info({ file: this.#path, why, added, removed, changed }, 'media node credentials reloaded');
    return true;
  }

  /** The nodes in force with their pins: never a secret. */
  list(): AdminNodeCredential[] {
    return [...this.#secrets.keys()].map((nodeId) => ({ nodeId, pins: { ...this.#pins.get(nodeId) } }));
  }

  /** Adds or replaces one node's credentials in the file; throws TreffpunktError. */
  put(
    nodeId: string,
    entry: AdminNodeCredentials,
  ): { action: 'added' | 'replaced'; pins: AdminNodeCredential['pins'] } {
    const entries = this.#readForEdit();
    const action = nodeId in entries ? 'replaced' : 'added';
    entries[nodeId] = entry;
    this.#write(entries);
    return { action, pins: { ...this.#pins.get(nodeId) } };
  }

  /** Removes one node's credentials from the file; the pins it had, or undefined when it had none. */
  revoke(nodeId: string): AdminNodeCredential['pins'] | undefined {
    const entries = this.#readForEdit();
    const had = entries[nodeId];
    if (!had) return undefined;
    delete entries[nodeId];
    this.#write(entries);
    const { secret: _, ...pins } = had;
    return pins;
  }

  /** The file as JSON entries, whichever form it is in; a file that does not parse is not overwritten. */
  #readForEdit(): Record<string, AdminNodeCredentials> {
    let parsed: ReturnType<typeof parseNodeCredentials>;
    try {
      parsed = parseNodeCredentials(readNodeSecretsFile(this.#path), this.#allowInsecureHttp);
    } catch {
      throw new TreffpunktError(
        ErrorCode.CredentialsNotEditable,
        'the node credentials file cannot be read or does not parse now; fix it first (the edge logs why)',
      );
    }
    const entries: Record<string, AdminNodeCredentials> = Object.create(null);
    for (const [id, list] of parsed.secrets) entries[id] = { secret: list.join('|'), ...parsed.pins.get(id) };
    return entries;
  }

  #write(entries: Record<string, AdminNodeCredentials>): void {
    const text = `${JSON.stringify(entries, null, 2)}\n`;
    try {
      parseNodeCredentials(text, this.#allowInsecureHttp);
    } catch (err) {
      // ConfigError's problems name the node and the field, never a value.
      const problems = err instanceof ConfigError ? err.problems : ['does not parse'];
      throw new TreffpunktError(ErrorCode.BadMessage, `credentials not taken: ${problems.join('; ')}`);
    }
    const tmp = join(dirname(this.#path), `.${basename(this.#path)}.${randomUUID()}.tmp`);
    try {
      const fd = openSync(tmp, 'wx', 0o600);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.#path);
    } catch (err) {
      rmSync(tmp, { force: true });
      this.#log.error({ file: this.#path, err: (err as Error).message }, 'media node credentials file not written');
      throw new TreffpunktError(ErrorCode.CredentialsNotEditable, 'the node credentials file cannot be written');
    }
    this.reload('admin');
  }
}
