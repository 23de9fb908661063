/**
 * The config file format of the edge and the media node (TREFFPUNKT_CONFIG_FILE, docs/configuration.md):
 * `.env` style, the same names as the environment variables, so one table documents both.
 *
 *   # comment
 *   TREFFPUNKT_EDGE_PORT=8080
 *   TREFFPUNKT_GUEST_POLICY="lobby"      # quotes optional; "…" knows \n \" \\ escapes, '…' is literal
 *
 * Strict: a line that is not `NAME=value`, a name the service does not know (a typo would otherwise be
 * ignored silently) or a name given twice is an error naming the file and line. Environment variables
 * override the file (mergeEnvironment). Pure: the caller reads the file (runtime-neutral).
 */
import { ConfigError } from './config-error.ts';

const LINE = /^\s*(?:export\s+)?([A-Z][A-Z0-9_]*)\s*=\s*(.*?)\s*$/;

function unquote(raw: string, where: string): string {
  if (raw.startsWith('"')) {
    const m = /^"((?:[^"\\]|\\.)*)"\s*(?:#.*)?$/.exec(raw);
    if (!m) throw new ConfigError([`${where}: unterminated "…" value`]);
    return m[1]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  if (raw.startsWith("'")) {
    const m = /^'([^']*)'\s*(?:#.*)?$/.exec(raw);
    if (!m) throw new ConfigError([`${where}: unterminated '…' value`]);
    return m[1]!;
  }
  // Unquoted: a # after whitespace starts a comment.
  return raw.replace(/\s+#.*$/, '');
}

/**
 * Parses `text` (from `file`, for messages). `known`: the names this service reads; others are refused.
 * @example parseEnvFile('TREFFPUNKT_EDGE_PORT=8080\n', 'edge.env', new Set(['TREFFPUNKT_EDGE_PORT']))
 */
export function parseEnvFile(text: string, file: string, known: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {};
  const problems: string[] = [];
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    const where = `${file}:${i + 1}`;
    if (/^\s*(#.*)?$/.test(line)) continue;
    const m = LINE.exec(line);
    const name = m?.[1];
    if (!m || !name) problems.push(`${where}: expected NAME=value`);
    else if (!known.has(name)) problems.push(`${where}: ${name} is not a setting of this service`);
    else if (name in out) problems.push(`${where}: ${name} is set twice`);
    else {
      try {
        out[name] = unquote(m[2] ?? '', where);
      } catch (err) {
        problems.push(...(err as ConfigError).problems);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}

/** The file's settings with the environment on top: a variable that is set (even empty) wins. */
export function mergeEnvironment(
  file: Record<string, string>,
  env: Record<string, string | undefined>,
): Record<string, string | undefined> {
  return { ...file, ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) };
}
