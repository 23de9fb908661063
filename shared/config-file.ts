/**
 * Reading TREFFPUNKT_CONFIG_FILE (the format and its rules are in env-file.ts): the file's settings, with
 * the environment on top. One place for the edge (edge/node/environment.ts) and the media node
 * (media-node/environment.ts), which differ only in the names they know. Runtime-neutral like the rest of
 * shared/: the caller passes how to read a file (node:fs readFileSync on Node).
 */
import { ConfigError } from './config-error.ts';
import { mergeEnvironment, parseEnvFile } from './env-file.ts';

export function withConfigFile(
  env: Record<string, string | undefined>,
  known: ReadonlySet<string>,
  readText: (path: string) => string,
): Record<string, string | undefined> {
  const file = env.TREFFPUNKT_CONFIG_FILE;
  if (!file) return mergeEnvironment({}, env);
  let text: string;
  try {
    text = readText(file);
  } catch (err) {
    throw new ConfigError([
      `TREFFPUNKT_CONFIG_FILE: cannot read ${file}: ${(err as { code?: string }).code ?? 'error'}`,
    ]);
  }
  return mergeEnvironment(parseEnvFile(text, file, known), env);
}
