/**
 * The edge's runtime-neutral settings, parsed from a string map (process.env on Node, the Worker's env on
 * Cloudflare). Every problem is reported with the setting's name and the reason, all at once.
 */
import { z } from 'zod';
import { expandJurisdictions, type MediaConstraint } from './media-constraint.ts';
import { ConfigError } from '../../shared/config-error.ts';
import { Jurisdiction, NodeId } from '../../shared/control.ts';
import { OperatorId } from '../../shared/ids.ts';
import { isBareOrigin, isInsecureUrl } from '../../shared/transport-security.ts';
import { TrustedIssuer, type TrustedIssuerInput } from './join-tokens.ts';

const intSetting = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);

/**
 * What a node's credentials on the edge fix about it. A registration that claims other values is refused;
 * fields left out are taken from the node's own registration (the node's word).
 */
export interface NodePin {
  operator?: string;
  jurisdiction?: string;
  /** The origin (scheme, host, port) of the node's control URL, e.g. https://media1.example.org:4000. */
  controlOrigin?: string;
}

const NodeCredentials = z
  .object({
    /** `current` or `current|previous` during a rotation, as in the short form. */
    secret: z.string(),
    operator: OperatorId.optional(),
    jurisdiction: Jurisdiction.optional(),
    controlOrigin: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .refine(isBareOrigin, 'must be an origin only (scheme, host, port), without path, query or fragment')
      .optional(),
  })
  .strict();

type ParsedNodes = { secrets: Map<string, string[]>; pins: Map<string, NodePin> };

/**
 * The media nodes allowed to talk to the edge, with the secrets that sign every request between the edge
 * and each. Short form `node-a=secret1,node-b=secret2` (`node-a=new|old` during a rotation: both accepted,
 * the first signs). JSON form, which can also pin a node's identity:
 * `{"node-a": {"secret": "…", "operator": "example-gmbh", "jurisdiction": "DE", "controlOrigin": "https://media-a.example.org"}}`.
 */
const NodeSecrets = z
  .string({ error: 'is required: list each media node as <nodeId>=<secret>, separated by commas, or as JSON' })
  .transform((raw, ctx): ParsedNodes => {
    const secrets = new Map<string, string[]>();
    const pins = new Map<string, NodePin>();
    const add = (id: string, list: string[], pin: NodePin) => {
      if (!NodeId.safeParse(id).success) {
        ctx.addIssue({ code: 'custom', message: `"${id.slice(0, 64)}" is not a valid node id` });
      } else if (list.some((s) => s.length < 16)) {
        ctx.addIssue({ code: 'custom', message: `the secret of node "${id}" must be at least 16 characters` });
      } else if (secrets.has(id)) {
        ctx.addIssue({ code: 'custom', message: `node "${id}" is listed twice` });
      } else {
        secrets.set(id, list);
        pins.set(id, pin);
      }
    };
    if (raw.trimStart().startsWith('{')) {
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'starts with "{" but is not valid JSON' });
        return { secrets, pins };
      }
      const parsed = z.record(z.string(), NodeCredentials).safeParse(json);
      if (!parsed.success) {
        // Names the node and the field, never a value: this setting holds secrets.
        for (const i of parsed.error.issues)
          ctx.addIssue({ code: 'custom', message: `${i.path.map(String).join('.')}: ${i.message}` });
        return { secrets, pins };
      }
      for (const [id, { secret, ...pin }] of Object.entries(parsed.data)) {
        add(id, secret.split('|'), {
          ...pin,
          ...(pin.controlOrigin ? { controlOrigin: new URL(pin.controlOrigin).origin } : {}),
        });
      }
    } else {
      for (const entry of raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const eq = entry.indexOf('=');
        if (eq < 1)
          ctx.addIssue({
            code: 'custom',
            message: `entry "${entry.slice(0, Math.max(eq, 0))}=…" needs a valid node id before "="`,
          });
        else add(entry.slice(0, eq), entry.slice(eq + 1).split('|'), {});
      }
    }
    if (secrets.size === 0) ctx.addIssue({ code: 'custom', message: 'lists no media node' });
    return { secrets, pins };
  });

const flag = z
  .enum(['1', 'true', '0', 'false'], 'must be 1, true, 0 or false')
  .default('false')
  .transform((v) => v === '1' || v === 'true');

/** An optional comma-separated list whose entries match `entry`; unset or empty: undefined. */
function commaList(entry: RegExp, what: string) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const items = (raw ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const bad = items.find((i) => !entry.test(i));
      if (bad !== undefined)
        ctx.addIssue({ code: 'custom', message: `"${bad.slice(0, 64)}" is not valid: expected ${what}` });
      return items.length > 0 ? items : undefined;
    });
}

export const EdgeConfigSchema = z.object({
  TREFFPUNKT_NODE_SECRETS: NodeSecrets,
  TREFFPUNKT_MAX_MESSAGE_BYTES: intSetting(64 * 1024, 1024, 16 * 1024 * 1024),
  TREFFPUNKT_ROOM_CAPACITY: intSetting(100, 1, 10_000),
  TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS: intSetting(4_500, 1_000, 600_000),
  /** Node link (node-links.ts): a link silent this long gets a health check; 0 turns links off (heartbeats only). */
  TREFFPUNKT_NODE_LINK_SILENCE_MS: intSetting(1_000, 0, 60_000).refine((v) => v === 0 || v >= 200, {
    error: 'must be 0 (no node links) or at least 200',
  }),
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
    .pipe(z.array(TrustedIssuer))
    .refine((list) => new Set(list.map((i) => i.issuer)).size === list.length, 'lists an issuer twice'),
  /** Shortcut for the deployment's own tokens: HS256 with this secret, issuer "treffpunkt". */
  TREFFPUNKT_JOIN_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** The `aud` every join token must carry: tokens minted for another deployment are refused. */
  TREFFPUNKT_TOKEN_AUDIENCE: z.string().min(1).max(256).default('treffpunkt'),
  TREFFPUNKT_TOKEN_MAX_LIFETIME_SECONDS: intSetting(24 * 3600, 60, 30 * 24 * 3600),
  TREFFPUNKT_JWKS_TIMEOUT_MS: intSetting(2_000, 100, 30_000),
  TREFFPUNKT_REMOVAL_BAR_SECONDS: intSetting(600, 0, 7 * 24 * 3600),
  TREFFPUNKT_GUEST_POLICY: z.enum(['allow', 'lobby', 'deny']).default('lobby'),
  TREFFPUNKT_MESSAGES_PER_SECOND: intSetting(50, 1, 10_000),
  TREFFPUNKT_CONNECTIONS_PER_MINUTE: intSetting(60, 1, 100_000),
  TREFFPUNKT_MAX_PRODUCERS: intSetting(4, 1, 32),
  TREFFPUNKT_RESUME_GRACE_MS: intSetting(15_000, 0, 600_000),
  // Resource caps (issue 10): what one participant, one lobby, one idle socket or one address may hold.
  TREFFPUNKT_MAX_TRANSPORTS: intSetting(4, 2, 64),
  /** Unset: TREFFPUNKT_MAX_PRODUCERS × (capacity − 1), at most 1000 — everyone's media, never more. */
  TREFFPUNKT_MAX_CONSUMERS: z.coerce.number().int().min(1).max(100_000).optional(),
  /** Unset: the room capacity, at most 100. */
  TREFFPUNKT_LOBBY_CAPACITY: z.coerce.number().int().min(1).max(10_000).optional(),
  TREFFPUNKT_JOIN_TIMEOUT_MS: intSetting(30_000, 1_000, 600_000),
  /** How long a draining node keeps a room's old media at most while its participants switch over. */
  TREFFPUNKT_HANDOVER_DEADLINE_MS: intSetting(15_000, 1_000, 600_000),
  TREFFPUNKT_SOCKETS_PER_ADDRESS: intSetting(20, 1, 100_000),
  /**
   * Other edges of this deployment the browser app may reconnect to (http(s) origins, comma-separated):
   * the app tries them in turn when this one cannot be reached (issue 12; docs/configuration.md).
   */
  TREFFPUNKT_EDGE_URLS: commaList(/^https?:\/\/[^/\s?#]+\/?$/, 'http(s) origins such as https://edge2.example.org'),
  /** Media events one node may send per second (bursts of twice that); then RATE_LIMITED. */
  TREFFPUNKT_NODE_EVENTS_PER_SECOND: intSetting(200, 1, 10_000),
  /** Plain http to nodes beyond loopback (control URLs): refused unless this is 1/true. */
  TREFFPUNKT_ALLOW_INSECURE_HTTP: flag,
});

export interface EdgeConfig {
  /** Per node: its accepted secrets, the first of which signs the edge's requests to it. */
  nodeSecrets: ReadonlyMap<string, readonly string[]>;
  /** Per node: what its credentials fix about it (empty: everything is the node's word). */
  nodePins: ReadonlyMap<string, NodePin>;
  /** Media events per node and second (edge/core/node-guard.ts). */
  nodeEventsPerSecond: number;
  /** Whether nodes may have plain http control URLs beyond loopback. */
  allowInsecureHttp: boolean;
  maxMessageBytes: number;
  roomCapacity: number;
  /** A node without a heartbeat this long is lost: rooms move its participants to other nodes. */
  nodeHeartbeatTimeoutMs: number;
  /** How often a room checks its nodes: a third of the timeout, like the nodes' heartbeats. */
  nodeCheckIntervalMs: number;
  /** A node link silent this long gets a health check (node-links.ts); 0: no node links. */
  nodeLinkSilenceMs: number;
  /** Where every room's media may go (operators, jurisdictions); empty: anywhere. */
  mediaConstraint: MediaConstraint;
  /** How long the TURN credentials handed to a participant stay valid. */
  turnCredentialTtlSeconds: number;
  /** Join token issuers; empty = an open deployment where anyone with the link joins. */
  trustedIssuers: TrustedIssuerInput[];
  /** The audience (`aud`) join tokens must name. */
  tokenAudience: string;
  /** Longest join token lifetime accepted (exp − iat, or exp − now). */
  tokenMaxLifetimeSeconds: number;
  /** How long a JWKS fetch may take before the join is refused. */
  jwksTimeoutMs: number;
  /** How long a removed participant's token identity may not join the room again (0: not at all barred). */
  removalBarMs: number;
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
  /** Transports one participant may hold (send + recv, and a relay-only retry of each). */
  maxTransports: number;
  /** Consumers one participant may hold (one per producer in the room). */
  maxConsumers: number;
  /** People waiting in one room's lobby at once. */
  lobbyCapacity: number;
  /** A socket that neither joins nor resumes within this is closed (4009); lobby waiters count as joined. */
  joinTimeoutMs: number;
  /** How long a draining node keeps a room's old media at most (make-before-break, edge/core/room/failover.ts). */
  handoverDeadlineMs: number;
  /** Open room sockets per client address (IPv6: per /64); on Cloudflare per room object. */
  socketsPerAddress: number;
  /** Other edges' origins for the browser app to reconnect to (TREFFPUNKT_EDGE_URLS), in order. */
  edgeUrls: readonly string[];
}

export { ConfigError };

/** Formats zod issues as "SETTING: reason" lines. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
}

/**
 * TREFFPUNKT_NODE_SECRETS's format on its own, for credentials read again while the edge runs (the Node
 * edge's TREFFPUNKT_NODE_SECRETS_FILE, edge/node/node-secrets-file.ts). Throws ConfigError naming the
 * node and field, never a value.
 */
export function parseNodeCredentials(
  raw: string,
  allowInsecureHttp: boolean,
): { secrets: Map<string, string[]>; pins: Map<string, NodePin> } {
  const parsed = NodeSecrets.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error));
  const insecure = [...parsed.data.pins].filter(([, pin]) => pin.controlOrigin && isInsecureUrl(pin.controlOrigin));
  if (insecure.length > 0 && !allowInsecureHttp)
    throw new ConfigError(insecure.map(([id]) => `the controlOrigin of node "${id}" is plain http beyond loopback`));
  return parsed.data;
}

export function parseEdgeConfig(env: Record<string, string | undefined>): EdgeConfig {
  // An empty variable means "not set" (workerd's fromEnvironment binds an unset variable as null or "").
  const set = Object.fromEntries(
    Object.keys(EdgeConfigSchema.shape).map((k) => [k, env[k] === '' || env[k] === null ? undefined : env[k]]),
  );
  const parsed = EdgeConfigSchema.safeParse(set);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error));
  const c = parsed.data;
  if (c.TREFFPUNKT_JOIN_TOKEN_SECRET && c.TREFFPUNKT_TRUSTED_ISSUERS.some((i) => i.issuer === 'treffpunkt')) {
    throw new ConfigError([
      'TREFFPUNKT_TRUSTED_ISSUERS: lists the issuer "treffpunkt", which TREFFPUNKT_JOIN_TOKEN_SECRET already defines; set one of them',
    ]);
  }
  const insecure = [...c.TREFFPUNKT_NODE_SECRETS.pins].filter(
    ([, pin]) => pin.controlOrigin && isInsecureUrl(pin.controlOrigin),
  );
  if (insecure.length > 0 && !c.TREFFPUNKT_ALLOW_INSECURE_HTTP) {
    throw new ConfigError(
      insecure.map(
        ([id]) =>
          `TREFFPUNKT_NODE_SECRETS: the controlOrigin of node "${id}" is plain http beyond loopback; use https, or set TREFFPUNKT_ALLOW_INSECURE_HTTP=1 if the network is otherwise protected`,
      ),
    );
  }
  return {
    nodeSecrets: c.TREFFPUNKT_NODE_SECRETS.secrets,
    nodePins: c.TREFFPUNKT_NODE_SECRETS.pins,
    nodeEventsPerSecond: c.TREFFPUNKT_NODE_EVENTS_PER_SECOND,
    allowInsecureHttp: c.TREFFPUNKT_ALLOW_INSECURE_HTTP,
    maxMessageBytes: c.TREFFPUNKT_MAX_MESSAGE_BYTES,
    roomCapacity: c.TREFFPUNKT_ROOM_CAPACITY,
    nodeHeartbeatTimeoutMs: c.TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS,
    nodeCheckIntervalMs: Math.floor(c.TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS / 3),
    nodeLinkSilenceMs: c.TREFFPUNKT_NODE_LINK_SILENCE_MS,
    mediaConstraint: {
      ...(c.TREFFPUNKT_MEDIA_OPERATORS ? { operators: c.TREFFPUNKT_MEDIA_OPERATORS } : {}),
      ...(c.TREFFPUNKT_MEDIA_JURISDICTIONS
        ? { jurisdictions: expandJurisdictions(c.TREFFPUNKT_MEDIA_JURISDICTIONS.map((j) => j.toUpperCase())) }
        : {}),
    },
    turnCredentialTtlSeconds: c.TREFFPUNKT_TURN_CREDENTIAL_TTL_SECONDS,
    trustedIssuers: [
      ...c.TREFFPUNKT_TRUSTED_ISSUERS,
      // The deployment's own portal may grant everything: it is the deployment.
      ...(c.TREFFPUNKT_JOIN_TOKEN_SECRET
        ? [
            {
              issuer: 'treffpunkt',
              hs256Secret: c.TREFFPUNKT_JOIN_TOKEN_SECRET,
              rooms: ['*'],
              roles: ['moderator', 'participant', 'guest'],
              mediaClaims: true,
            } satisfies TrustedIssuerInput,
          ]
        : []),
    ],
    tokenAudience: c.TREFFPUNKT_TOKEN_AUDIENCE,
    tokenMaxLifetimeSeconds: c.TREFFPUNKT_TOKEN_MAX_LIFETIME_SECONDS,
    jwksTimeoutMs: c.TREFFPUNKT_JWKS_TIMEOUT_MS,
    removalBarMs: c.TREFFPUNKT_REMOVAL_BAR_SECONDS * 1000,
    guestPolicy: c.TREFFPUNKT_GUEST_POLICY,
    messagesPerSecond: c.TREFFPUNKT_MESSAGES_PER_SECOND,
    connectionsPerMinute: c.TREFFPUNKT_CONNECTIONS_PER_MINUTE,
    maxProducers: c.TREFFPUNKT_MAX_PRODUCERS,
    resumeGraceMs: c.TREFFPUNKT_RESUME_GRACE_MS,
    maxTransports: c.TREFFPUNKT_MAX_TRANSPORTS,
    maxConsumers:
      c.TREFFPUNKT_MAX_CONSUMERS ??
      Math.max(1, Math.min(1000, c.TREFFPUNKT_MAX_PRODUCERS * (c.TREFFPUNKT_ROOM_CAPACITY - 1))),
    lobbyCapacity: c.TREFFPUNKT_LOBBY_CAPACITY ?? Math.min(c.TREFFPUNKT_ROOM_CAPACITY, 100),
    joinTimeoutMs: c.TREFFPUNKT_JOIN_TIMEOUT_MS,
    handoverDeadlineMs: c.TREFFPUNKT_HANDOVER_DEADLINE_MS,
    socketsPerAddress: c.TREFFPUNKT_SOCKETS_PER_ADDRESS,
    edgeUrls: (c.TREFFPUNKT_EDGE_URLS ?? []).map((u) => new URL(u).origin),
  };
}
