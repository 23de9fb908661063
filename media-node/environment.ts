/**
 * Where the media node's settings come from before flags (config.ts): the config file named by
 * TREFFPUNKT_CONFIG_FILE (the format of shared/env-file.ts, names as in settings.ts), then the
 * environment on top. Relative secret file names are looked up in systemd's $CREDENTIALS_DIRECTORY,
 * so `LoadCredential=node-secret:/etc/treffpunkt/node-secret` + `TREFFPUNKT_NODE_SECRET_FILE=node-secret` works.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ConfigError } from '../shared/config-error.ts';
import { mergeEnvironment, parseEnvFile } from '../shared/env-file.ts';
import { SETTINGS } from './settings.ts';

const KNOWN = new Set(['TREFFPUNKT_CONFIG_FILE', ...Object.values(SETTINGS).map((s) => s.env)]);

export function loadMediaNodeEnvironment(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const file = env.TREFFPUNKT_CONFIG_FILE;
  let fromFile: Record<string, string> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError([`TREFFPUNKT_CONFIG_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`]);
    }
    fromFile = parseEnvFile(text, file, KNOWN);
  }
  const merged = mergeEnvironment(fromFile, env);
  const credentials = env.CREDENTIALS_DIRECTORY;
  for (const name of [SETTINGS.secretFile.env, SETTINGS.turnSecretFile.env]) {
    const path = merged[name];
    if (credentials && path && !isAbsolute(path)) merged[name] = join(credentials, path);
  }
  return merged;
}
