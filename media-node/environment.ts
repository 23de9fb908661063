/**
 * Where the media node's settings come from before flags (config.ts): the config file named by
 * TREFFPUNKT_CONFIG_FILE (the format of shared/env-file.ts, names as in settings.ts), then the
 * environment on top. Relative secret file names are looked up in systemd's $CREDENTIALS_DIRECTORY,
 * so `LoadCredential=node-secret:/etc/treffpunkt/node-secret` + `TREFFPUNKT_NODE_SECRET_FILE=node-secret` works.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { withConfigFile } from '../shared/config-file.ts';
import { SETTINGS } from './settings.ts';

const KNOWN = new Set(['TREFFPUNKT_CONFIG_FILE', ...Object.values(SETTINGS).map((s) => s.env)]);

export function loadMediaNodeEnvironment(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const merged = withConfigFile(env, KNOWN, (path) => readFileSync(path, 'utf8'));
  const credentials = env.CREDENTIALS_DIRECTORY;
  for (const name of [SETTINGS.secretFile.env, SETTINGS.turnSecretFile.env]) {
    const path = merged[name];
    if (credentials && path && !isAbsolute(path)) merged[name] = join(credentials, path);
  }
  return merged;
}
