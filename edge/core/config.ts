/**
 * The edge's runtime-neutral settings, parsed from a string map (process.env on Node, the Worker's env on
 * Cloudflare). Every problem is reported with the setting's name and the reason, all at once.
 */
import { z } from 'zod';
import { expandJurisdictions, type MediaConstraint } from './media-constraint.ts';
import { NodeId } from '../../shared/control.ts';
import { TrustedIssuer } from './join-tokens.ts';

const intSetting = (def: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(def);

/**
 * `node-a=secret1,node-b=secret2`: the per-node secrets that sign every request between the edge and that
 * node. `node-a=new|old` during a rotation: both are accepted, the first signs.
 */
const NodeSecrets = z
  .string({ error: 'is required: list each media node as <nodeId>=<secret>, separated by commas' })
  .transform((raw, ctx) => {
    const map = new Map<string, string[]>();
    for (const entry of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
      const eq = entry.indexOf('=');
      const id = entry.slice(0, eq);
      const secrets = entry.slice(eq + 1).split('|');
      if (eq < 1 || !NodeId.safeParse(id).success) {
        ctx.addIssue({ code: 'custom', message: `entry "${entry.slice(0, Math.max(eq, 0))}=…" needs a valid node id before "="` });
      } else if (secrets.some((s) => s.length < 16)) {
        ctx.addIssue({ code: 'custom', message: `the secret of node "${id}" must be at least 16 characters` });
      } else if (map.has(id)) {
        ctx.addIssue({ code: 'custom', message: `node "${id}" is listed twice` });
      } else {
        map.set(id, secrets);
      }
    }
    if (map.size === 0) ctx.addIssue({ code: 'custom', message: 'lists no media node' });
    return map;
  });

/** An optional comma-separated list whose entries match `entry`; unset or empty: undefined. */
function commaList(entry: RegExp, what: string) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const items = (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      const bad = items.find((i) => !entry.test(i));
      if (bad !== undefined) ctx.addIssue({ code: 'custom', message: `"${bad.slice(0, 64)}" is not valid: expected ${what}` });
      return items.length > 0 ? items : undefined;
    });
}

export const EdgeConfigSchema = z.object({
  TREFFPUNKT_NODE_SECRETS: NodeSecrets,
  TREFFPUNKT_MAX_MESSAGE_BYTES: intSetting(64 * 1024, 1024, 16 * 1024 * 1024),
  TREFFPUNKT_ROOM_CAPACITY: intSetting(100, 1, 10_000),
  TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS: intSetting(4_500, 1_000, 600_000),
  /** Comma-separated operator ids: the only operators whose nodes may carry this deployment's media. */
  TREFFPUNKT_MEDIA_OPERATORS: commaList(/^[^,\s][^,]{0,63}$/, 'operator ids'),
  /** Comma-separated ISO 3166-1 alpha-2 codes, or EU: the only jurisdictions media may touch. */
  TREFFPUNKT_MEDIA_JURISDICTIONS: commaList(/^[A-Za-z]{2}$/, 'country codes like DE, or EU'),
  /** TURN credential lifetime: it bounds every allocation made with it; the web app renews before (docs/turn.md). */
  TREFFPUNKT_TURN_CREDENTIAL_TTL_SECONDS: intSetting(15 * 60, 60, 7 * 24 * 3600),
  /** JSON array of trusted join token issuers (see TrustedIssuer in join-tokens.ts). */
  TREFFPUNKT_TRUSTED_ISSUERS: z
    .string()
    .default('[]')
    .transform((raw, ctx) => {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON array of issuers' });
        return z.NEVER;
      }
    })
    .pipe(z.array(TrustedIssuer)),
  /** Shortcut for the deployment's own tokens: HS256 with this secret, issuer "treffpunkt". */
  TREFFPUNKT_JOIN_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  TREFFPUNKT_GUEST_POLICY: z.enum(['allow', 'lobby', 'deny']).default('lobby'),
  TREFFPUNKT_MESSAGES_PER_SECOND: intSetting(50, 1, 10_000),
  TREFFPUNKT_CONNECTIONS_PER_MINUTE: intSetting(60, 1, 100_000),
  TREFFPUNKT_MAX_PRODUCERS: intSetting(4, 1, 32),
  TREFFPUNKT_RESUME_GRACE_MS: intSetting(15_000, 0, 600_000),
});

export interface EdgeConfig {
  /** Per node: its accepted secrets, the first of which signs the edge's requests to it. */
  nodeSecrets: ReadonlyMap<string, readonly string[]>;
  maxMessageBytes: number;
  roomCapacity: number;
  /** A node without a heartbeat this long is lost: rooms move its participants to other nodes. */
  nodeHeartbeatTimeoutMs: number;
  /** How often a room checks its nodes: a third of the timeout, like the nodes' heartbeats. */
  nodeCheckIntervalMs: number;
  /** Where every room's media may go (operators, jurisdictions); empty: anywhere. */
  mediaConstraint: MediaConstraint;
  /** How long the TURN credentials handed to a participant stay valid. */
  turnCredentialTtlSeconds: number;
  /** Join token issuers; empty = an open deployment where anyone with the link joins. */
  trustedIssuers: TrustedIssuer[];
  /** What happens to people without a token when there are issuers. */
  guestPolicy: 'allow' | 'lobby' | 'deny';
  /** Per connection; bursts of twice this are allowed. */
  messagesPerSecond: number;
  /** New WebSocket connections per client address and minute. */
  connectionsPerMinute: number;
  /** Producers one participant may have at once (camera, microphone, screen, screen audio). */
  maxProducers: number;
  /** How long a participant whose socket dropped may come back with `resume` before they leave. */
  resumeGraceMs: number;
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Formats zod issues as "SETTING: reason" lines. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
}

export function parseEdgeConfig(env: Record<string, string | undefined>): EdgeConfig {
  // An empty variable means "not set" (workerd's fromEnvironment binds an unset variable as null or "").
  const set = Object.fromEntries(Object.keys(EdgeConfigSchema.shape).map((k) => [k, env[k] === '' || env[k] === null ? undefined : env[k]]));
  const parsed = EdgeConfigSchema.safeParse(set);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error));
  const c = parsed.data;
  return {
    nodeSecrets: c.TREFFPUNKT_NODE_SECRETS,
    maxMessageBytes: c.TREFFPUNKT_MAX_MESSAGE_BYTES,
    roomCapacity: c.TREFFPUNKT_ROOM_CAPACITY,
    nodeHeartbeatTimeoutMs: c.TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS,
    nodeCheckIntervalMs: Math.floor(c.TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS / 3),
    mediaConstraint: {
      ...(c.TREFFPUNKT_MEDIA_OPERATORS ? { operators: c.TREFFPUNKT_MEDIA_OPERATORS } : {}),
      ...(c.TREFFPUNKT_MEDIA_JURISDICTIONS ? { jurisdictions: expandJurisdictions(c.TREFFPUNKT_MEDIA_JURISDICTIONS.map((j) => j.toUpperCase())) } : {}),
    },
    turnCredentialTtlSeconds: c.TREFFPUNKT_TURN_CREDENTIAL_TTL_SECONDS,
    trustedIssuers: [
      ...c.TREFFPUNKT_TRUSTED_ISSUERS,
      ...(c.TREFFPUNKT_JOIN_TOKEN_SECRET ? [{ issuer: 'treffpunkt', hs256Secret: c.TREFFPUNKT_JOIN_TOKEN_SECRET }] : []),
    ],
    guestPolicy: c.TREFFPUNKT_GUEST_POLICY,
    messagesPerSecond: c.TREFFPUNKT_MESSAGES_PER_SECOND,
    connectionsPerMinute: c.TREFFPUNKT_CONNECTIONS_PER_MINUTE,
    maxProducers: c.TREFFPUNKT_MAX_PRODUCERS,
    resumeGraceMs: c.TREFFPUNKT_RESUME_GRACE_MS,
  };
}
