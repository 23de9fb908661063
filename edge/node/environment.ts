/**
 * Where the Node edge's settings come from, in this order (later wins): the config file named by
 * TREFFPUNKT_CONFIG_FILE (shared/env-file.ts), the environment, then secret files: for each secret
 * setting X, X_FILE names a file holding its value (a relative name is looked up in systemd's
 * $CREDENTIALS_DIRECTORY, so `LoadCredential=` works as is). A secret file readable by group or others
 * is refused, as the media node does for its own.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ConfigError } from '../../shared/config-error.ts';
import { withConfigFile } from '../../shared/config-file.ts';

/** Settings that may hold secrets: each may come from X_FILE instead. */
export const SECRET_SETTINGS = [
  'TREFFPUNKT_NODE_SECRETS',
  'TREFFPUNKT_JOIN_TOKEN_SECRET',
  'TREFFPUNKT_TRUSTED_ISSUERS',
  'TREFFPUNKT_ADMIN_TOKEN',
  'TREFFPUNKT_METRICS_TOKEN',
  'TREFFPUNKT_WEBHOOKS',
] as const;

function readSecret(name: string, path: string, credentials: string | undefined): string {
  const full = isAbsolute(path) || !credentials ? path : join(credentials, path);
  let text: string;
  let mode: number;
  try {
    mode = statSync(full).mode;
    text = readFileSync(full, 'utf8');
  } catch (err) {
    throw new ConfigError([`${name}_FILE: cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`]);
  }
  // systemd credentials are 0400/0440 by the service's own user; the group bit is fine only there.
  if (mode & (full.startsWith(`${credentials}/`) ? 0o007 : 0o077))
    throw new ConfigError([`${name}_FILE: ${full} is readable by group or others; chmod 600 it`]);
  return text.replace(/\r?\n$/, '');
}

/**
 * The edge's settings: `known` are the names it reads (a config file naming others is refused).
 * @example loadEdgeEnvironment(process.env, known) // TREFFPUNKT_CONFIG_FILE=/etc/treffpunkt/edge.env
 */
export function loadEdgeEnvironment(
  env: Record<string, string | undefined>,
  known: ReadonlySet<string>,
): Record<string, string | undefined> {
  const withFiles = new Set([...known, ...SECRET_SETTINGS.map((s) => `${s}_FILE`)]);
  const merged = withConfigFile(env, withFiles, (path) => readFileSync(path, 'utf8'));
  const problems: string[] = [];
  for (const name of SECRET_SETTINGS) {
    const path = merged[`${name}_FILE`];
    if (!path) continue;
    // TREFFPUNKT_NODE_SECRETS_FILE is not read here: the edge watches that file itself and re-reads it
    // (node-secrets-file.ts); only a relative name is resolved like the others.
    if (name === 'TREFFPUNKT_NODE_SECRETS') {
      if (!isAbsolute(path) && env.CREDENTIALS_DIRECTORY)
        merged[`${name}_FILE`] = join(env.CREDENTIALS_DIRECTORY, path);
      continue;
    }
    if (merged[name]) {
      problems.push(`${name}: set both directly and as ${name}_FILE; set one`);
      continue;
    }
    try {
      merged[name] = readSecret(name, path, env.CREDENTIALS_DIRECTORY);
    } catch (err) {
      problems.push(...(err as ConfigError).problems);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return merged;
}
