/**
 * The media node's one typed config: defaults, then environment variables, then command-line flags,
 * then validation that names each wrong setting and why. `--help` prints the table below.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError } from '../shared/config-error.ts';
import { Jurisdiction, MAX_NODE_WORKERS, NodeId } from '../shared/control.ts';
import { OperatorId, RegionId } from '../shared/ids.ts';
import { isBareOrigin, isInsecureUrl } from '../shared/transport-security.ts';

interface Setting {
  env: string;
  flag: string;
  help: string;
  default?: string;
}

/** Every setting: its environment variable, its flag, and what it means. docs/configuration.md mirrors it. */
export const SETTINGS = {
  nodeId: {
    env: 'TREFFPUNKT_NODE_ID',
    flag: 'node-id',
    help: "This node's id at the edge (lowercase letters, digits, -). Required.",
  },
  secret: {
    env: 'TREFFPUNKT_NODE_SECRET',
    flag: 'secret',
    help: 'Shared secret with the edge, at least 16 characters. Prefer TREFFPUNKT_NODE_SECRET_FILE: flags show up in `ps`.',
  },
  secretFile: {
    env: 'TREFFPUNKT_NODE_SECRET_FILE',
    flag: 'secret-file',
    help: 'File holding the secret (must not be readable by group or others).',
  },
  previousSecret: {
    env: 'TREFFPUNKT_NODE_PREVIOUS_SECRET',
    flag: 'previous-secret',
    help: 'During a secret rotation: the old secret, still accepted on requests from the edge (see docs/security.md).',
  },
  edgeUrl: {
    env: 'TREFFPUNKT_EDGE_URL',
    flag: 'edge-url',
    help: 'Base URL of the edge this node registers with, e.g. https://meet.example.org. Required. Must be https unless it is loopback or allow-insecure-http is set (registrations carry the TURN secret).',
  },
  allowInsecureHttp: {
    env: 'TREFFPUNKT_ALLOW_INSECURE_HTTP',
    flag: 'allow-insecure-http',
    help: 'true (or 1) allows plain http edge and control URLs beyond loopback, e.g. inside a VPN. Then node traffic, TURN secret included, can be read on the way; the node warns at start.',
    default: 'false',
  },
  region: {
    env: 'TREFFPUNKT_NODE_REGION',
    flag: 'region',
    help: 'Region name used by node selection.',
    default: 'local',
  },
  operator: {
    env: 'TREFFPUNKT_NODE_OPERATOR',
    flag: 'operator',
    help: 'Name of the organisation running this node.',
    default: 'local',
  },
  jurisdiction: {
    env: 'TREFFPUNKT_NODE_JURISDICTION',
    flag: 'jurisdiction',
    help: 'ISO 3166-1 alpha-2 code of the country whose law applies to this machine (e.g. DE). Rooms may require jurisdictions; a node without one never meets such a requirement.',
  },
  drainTimeoutMs: {
    env: 'TREFFPUNKT_NODE_DRAIN_TIMEOUT_MS',
    flag: 'drain-timeout-ms',
    help: 'On SIGTERM the node asks the edge to move its rooms away and exits when it carries no transports, or after this long.',
    default: '30000',
  },
  apiHost: {
    env: 'TREFFPUNKT_NODE_API_HOST',
    flag: 'api-host',
    help: 'Listen address of the control API.',
    default: '127.0.0.1',
  },
  apiPort: { env: 'TREFFPUNKT_NODE_API_PORT', flag: 'api-port', help: 'TCP port of the control API.', default: '4000' },
  controlUrl: {
    env: 'TREFFPUNKT_NODE_CONTROL_URL',
    flag: 'control-url',
    help: 'URL at which the edge reaches the control API: an origin only (scheme, host, port), https unless loopback or allow-insecure-http. Default: http://<api-host>:<api-port>.',
  },
  listenIp: {
    env: 'TREFFPUNKT_NODE_LISTEN_IP',
    flag: 'listen-ip',
    help: 'IP the WebRTC ports bind to (0.0.0.0 for all IPv4 interfaces).',
    default: '127.0.0.1',
  },
  announcedAddress: {
    env: 'TREFFPUNKT_NODE_ANNOUNCED_ADDRESS',
    flag: 'announced-address',
    help: 'Public IP or host name that browsers connect to. Required when listen-ip is 0.0.0.0 or ::.',
  },
  rtcPort: {
    env: 'TREFFPUNKT_NODE_RTC_PORT',
    flag: 'rtc-port',
    help: 'First WebRTC port: worker i listens on UDP and TCP port rtc-port+i.',
    default: '40000',
  },
  workers: {
    env: 'TREFFPUNKT_NODE_WORKERS',
    flag: 'workers',
    help: 'Number of mediasoup workers. Default: one per CPU core.',
  },
  workerMinPort: {
    env: 'TREFFPUNKT_NODE_WORKER_MIN_PORT',
    flag: 'worker-min-port',
    help: 'Lowest port of the range for pipe/plain transports. Pipes to other media nodes (rooms across nodes) listen here, on listen-ip/announced-address: other nodes must reach this UDP range.',
    default: '40100',
  },
  workerMaxPort: {
    env: 'TREFFPUNKT_NODE_WORKER_MAX_PORT',
    flag: 'worker-max-port',
    help: 'Highest port of that range.',
    default: '40999',
  },
  logLevel: {
    env: 'TREFFPUNKT_LOG_LEVEL',
    flag: 'log-level',
    help: 'debug, info, warn, error or silent.',
    default: 'info',
  },
  diagnostics: {
    env: 'TREFFPUNKT_NODE_DIAGNOSTICS',
    flag: 'diagnostics',
    help: "true (or 1) adds the test and diagnostic routes to the control API: GET /v1/rooms/<room>/consumers/<id>/stats and /v1/rooms/<room>/pipes/<peer>/stats (packet counts, a pipe's SRTP suite and traffic). Signed like every control request. For tests and debugging.",
    default: 'false',
  },
  turnMode: {
    env: 'TREFFPUNKT_TURN_MODE',
    flag: 'turn-mode',
    help: 'TURN service of this node: embedded (node-turn inside the node, UDP only), coturn (starts `turnserver`, UDP and TCP; the production choice, see docs/turn.md) or off.',
    default: 'embedded',
  },
  turnListenIp: {
    env: 'TREFFPUNKT_TURN_LISTEN_IP',
    flag: 'turn-listen-ip',
    help: 'IP the TURN port binds to. Default: listen-ip.',
  },
  turnPort: {
    env: 'TREFFPUNKT_TURN_PORT',
    flag: 'turn-port',
    help: 'TURN listening port (UDP; coturn also TCP). 0 picks a free port (embedded only, for tests).',
    default: '3478',
  },
  turnRelayIp: {
    env: 'TREFFPUNKT_TURN_RELAY_IP',
    flag: 'turn-relay-ip',
    help: 'Local IP the relay ports bind to. Default: turn-listen-ip; required when that is 0.0.0.0 or ::.',
  },
  turnMinPort: {
    env: 'TREFFPUNKT_TURN_MIN_PORT',
    flag: 'turn-min-port',
    help: 'Lowest relay port (UDP). Must not overlap the WebRTC ports or the worker port range.',
    default: '49152',
  },
  turnMaxPort: {
    env: 'TREFFPUNKT_TURN_MAX_PORT',
    flag: 'turn-max-port',
    help: 'Highest relay port.',
    default: '65535',
  },
  turnSecret: {
    env: 'TREFFPUNKT_TURN_SECRET',
    flag: 'turn-secret',
    help: 'TURN REST secret (at least 16 characters); the edge learns it at registration and mints credentials with it. Unset: a random one per start. Prefer TREFFPUNKT_TURN_SECRET_FILE.',
  },
  turnSecretFile: {
    env: 'TREFFPUNKT_TURN_SECRET_FILE',
    flag: 'turn-secret-file',
    help: 'File holding the TURN secret (must not be readable by group or others).',
  },
  turnRealm: { env: 'TREFFPUNKT_TURN_REALM', flag: 'turn-realm', help: 'TURN realm.', default: 'treffpunkt' },
  turnUserQuota: {
    env: 'TREFFPUNKT_TURN_USER_QUOTA',
    flag: 'turn-user-quota',
    help: 'Allocations at the same time per person (the identity part of the TURN username: per token identity, for guests per participant).',
    default: '12',
  },
  turnTotalQuota: {
    env: 'TREFFPUNKT_TURN_TOTAL_QUOTA',
    flag: 'turn-total-quota',
    help: 'Allocations at the same time on this node (each holds one relay port).',
    default: '1000',
  },
  turnAllowLoopbackPeers: {
    env: 'TREFFPUNKT_TURN_ALLOW_LOOPBACK_PEERS',
    flag: 'turn-allow-loopback-peers',
    help: 'true lets TURN relay to 127.0.0.0/8 and ::1. Development and local tests only: never on a reachable node.',
    default: 'false',
  },
  coturnBin: {
    env: 'TREFFPUNKT_COTURN_BIN',
    flag: 'coturn-bin',
    help: 'The coturn server binary (turn-mode coturn).',
    default: 'turnserver',
  },
  turnMaxLifetime: {
    env: 'TREFFPUNKT_TURN_MAX_LIFETIME_SECONDS',
    flag: 'turn-max-lifetime',
    help: 'Longest lifetime one Allocate or Refresh grants (seconds, 60-3600): an allocation whose client stopped refreshing is gone this long after its last Refresh. coturn: max-allocate-lifetime.',
    default: '600',
  },
  turnNonceLifetime: {
    env: 'TREFFPUNKT_TURN_NONCE_LIFETIME_SECONDS',
    flag: 'turn-nonce-lifetime',
    help: 'How long a TURN nonce stays valid before the client must take a new one (438 Stale Nonce; seconds, 5-3600). coturn: stale-nonce.',
    default: '60',
  },
  turnExpirySweep: {
    env: 'TREFFPUNKT_TURN_EXPIRY_SWEEP_SECONDS',
    flag: 'turn-expiry-sweep',
    help: 'coturn only: how often the node ends coturn sessions whose credential has expired (seconds, 1-300). coturn 4.6 itself never looks at the expiry again once a session is authenticated.',
    default: '10',
  },
} as const satisfies Record<string, Setting>;

type Key = keyof typeof SETTINGS;

const port = z.coerce
  .number()
  .int()
  .min(1, 'must be a port number 1-65535')
  .max(65535, 'must be a port number 1-65535');
const count = (max: number) => z.coerce.number().int().min(1, 'must be at least 1').max(max, `must be at most ${max}`);
const unspecified = (ip: string) => ip === '0.0.0.0' || ip === '::';

const Raw = z
  .object({
    nodeId: NodeId.optional().refine((v) => v !== undefined, 'is required'),
    secret: z.string().optional(),
    secretFile: z.string().optional(),
    previousSecret: z.string().min(16, 'must be at least 16 characters').optional(),
    edgeUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .optional()
      .refine((v) => v !== undefined, 'is required'),
    region: RegionId,
    operator: OperatorId,
    jurisdiction: Jurisdiction.optional(),
    drainTimeoutMs: z.coerce
      .number()
      .int()
      .min(0, 'must be 0 or more')
      .max(3_600_000, 'must be at most 3600000 (one hour)'),
    apiHost: z.string().refine((v) => isIP(v) !== 0 || v === 'localhost', 'must be an IP address or localhost'),
    apiPort: port,
    controlUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .refine(isBareOrigin, 'must be an origin only (scheme, host, port), without path, query or fragment')
      .optional(),
    allowInsecureHttp: z
      .enum(['true', 'false', '1', '0'], 'must be true, false, 1 or 0')
      .transform((v) => v === 'true' || v === '1'),
    listenIp: z.string().refine((v) => isIP(v) !== 0, 'must be an IPv4 or IPv6 address'),
    announcedAddress: z
      .string()
      .optional()
      .refine(
        (v) =>
          v === undefined ||
          isIP(v) !== 0 ||
          /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(v),
        'must be an IP address or a DNS name',
      )
      .refine(
        (v) => v === undefined || !(unspecified(v) || v === '255.255.255.255' || /^(22[4-9]|23\d)\./.test(v)),
        'is not an address that browsers can connect to (unspecified, broadcast or multicast)',
      ),
    rtcPort: port,
    workers: z.coerce.number().int().min(1, 'must be at least 1').max(MAX_NODE_WORKERS).default(availableParallelism()),
    workerMinPort: port,
    workerMaxPort: port,
    logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']),
    diagnostics: z
      .enum(['true', 'false', '1', '0'], 'must be true, false, 1 or 0')
      .transform((v) => v === 'true' || v === '1'),
    turnMode: z.enum(['embedded', 'coturn', 'off'], 'must be embedded, coturn or off'),
    turnListenIp: z
      .string()
      .optional()
      .refine((v) => v === undefined || isIP(v) !== 0, 'must be an IPv4 or IPv6 address'),
    turnPort: z.coerce
      .number()
      .int()
      .min(0, 'must be a port number 0-65535')
      .max(65535, 'must be a port number 0-65535'),
    turnRelayIp: z
      .string()
      .optional()
      .refine((v) => v === undefined || (isIP(v) !== 0 && !unspecified(v)), 'must be a specific IPv4 or IPv6 address'),
    turnMinPort: port,
    turnMaxPort: port,
    turnSecret: z.string().optional(),
    turnSecretFile: z.string().optional(),
    turnRealm: z.string().regex(/^[\x21-\x7e]{1,64}$/, 'must be 1-64 printable ASCII characters without spaces'),
    turnUserQuota: count(1000),
    turnTotalQuota: count(100_000),
    turnAllowLoopbackPeers: z.enum(['true', 'false'], 'must be true or false').transform((v) => v === 'true'),
    coturnBin: z.string().min(1),
    turnMaxLifetime: z.coerce.number().int().min(60, 'must be at least 60').max(3600, 'must be at most 3600'),
    turnNonceLifetime: z.coerce.number().int().min(5, 'must be at least 5').max(3600, 'must be at most 3600'),
    turnExpirySweep: z.coerce.number().int().min(1, 'must be at least 1').max(300, 'must be at most 300'),
  })
  .superRefine((c, ctx) => {
    const issue = (key: Key, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
    if (!c.secret && !c.secretFile)
      issue('secret', `is required (set ${SETTINGS.secret.env} or ${SETTINGS.secretFile.env})`);
    if (c.secret && c.secretFile)
      issue('secret', `set either ${SETTINGS.secret.env} or ${SETTINGS.secretFile.env}, not both`);
    if (c.secret !== undefined && c.secret.length < 16) issue('secret', 'must be at least 16 characters');
    if (unspecified(c.listenIp) && !c.announcedAddress)
      issue(
        'announcedAddress',
        `is required when listen-ip is ${c.listenIp}: browsers cannot connect to an unspecified address`,
      );
    const rtcLast = c.rtcPort + c.workers - 1;
    if (rtcLast > 65535) issue('rtcPort', `${c.workers} workers need ports ${c.rtcPort}-${rtcLast}, beyond 65535`);
    if (c.workerMinPort > c.workerMaxPort)
      issue('workerMinPort', `must not be above worker-max-port (${c.workerMinPort} > ${c.workerMaxPort})`);
    if (c.rtcPort <= c.workerMaxPort && rtcLast >= c.workerMinPort) {
      issue(
        'rtcPort',
        `WebRTC ports ${c.rtcPort}-${rtcLast} overlap the worker port range ${c.workerMinPort}-${c.workerMaxPort}`,
      );
    }
    if (c.apiPort >= c.rtcPort && c.apiPort <= rtcLast)
      issue('apiPort', `${c.apiPort} is one of the WebRTC ports ${c.rtcPort}-${rtcLast}`);
    if (c.apiPort >= c.workerMinPort && c.apiPort <= c.workerMaxPort)
      issue('apiPort', `${c.apiPort} is inside the worker port range ${c.workerMinPort}-${c.workerMaxPort}`);
    if (!c.allowInsecureHttp) {
      const insecure = `must be https: plain http beyond loopback lets anyone on the way read this node's traffic (set ${SETTINGS.allowInsecureHttp.env}=true to allow it anyway)`;
      if (c.edgeUrl !== undefined && isInsecureUrl(c.edgeUrl)) issue('edgeUrl', insecure);
      const controlUrl = c.controlUrl ?? defaultControlUrl(c.apiHost, c.apiPort);
      if (isInsecureUrl(controlUrl))
        issue(
          'controlUrl',
          c.controlUrl
            ? insecure
            : `${insecure}; the default ${controlUrl} is plain http: set ${SETTINGS.controlUrl.env} to the https URL the edge uses`,
        );
    }
    if (c.turnMode === 'off') return;
    if (c.turnSecret && c.turnSecretFile)
      issue('turnSecret', `set either ${SETTINGS.turnSecret.env} or ${SETTINGS.turnSecretFile.env}, not both`);
    if (c.turnSecret !== undefined && c.turnSecret.length < 16) issue('turnSecret', 'must be at least 16 characters');
    const turnIp = c.turnListenIp ?? c.listenIp;
    if (unspecified(turnIp) && !c.turnRelayIp)
      issue('turnRelayIp', `is required when the TURN port listens on ${turnIp}: relay ports need a specific address`);
    if (c.turnPort === 0 && c.turnMode === 'coturn')
      issue('turnPort', 'must be a fixed port for coturn (0 only works with the embedded server)');
    const inside = (p: number, lo: number, hi: number) => p >= lo && p <= hi;
    const overlaps = (lo: number, hi: number) => c.turnMinPort <= hi && c.turnMaxPort >= lo;
    if (c.turnMinPort > c.turnMaxPort)
      issue('turnMinPort', `must not be above turn-max-port (${c.turnMinPort} > ${c.turnMaxPort})`);
    else {
      if (overlaps(c.rtcPort, rtcLast))
        issue(
          'turnMinPort',
          `TURN relay ports ${c.turnMinPort}-${c.turnMaxPort} overlap the WebRTC ports ${c.rtcPort}-${rtcLast}`,
        );
      if (overlaps(c.workerMinPort, c.workerMaxPort))
        issue(
          'turnMinPort',
          `TURN relay ports ${c.turnMinPort}-${c.turnMaxPort} overlap the worker port range ${c.workerMinPort}-${c.workerMaxPort}`,
        );
      if (inside(c.apiPort, c.turnMinPort, c.turnMaxPort))
        issue(
          'turnMinPort',
          `TURN relay ports ${c.turnMinPort}-${c.turnMaxPort} include the control API port ${c.apiPort}`,
        );
      if (c.turnPort !== 0 && inside(c.turnPort, c.turnMinPort, c.turnMaxPort))
        issue('turnPort', `${c.turnPort} is inside the TURN relay port range ${c.turnMinPort}-${c.turnMaxPort}`);
      const relayPorts = c.turnMaxPort - c.turnMinPort + 1;
      if (c.turnTotalQuota > relayPorts)
        issue(
          'turnTotalQuota',
          `${c.turnTotalQuota} allocations need more relay ports than turn-min-port..turn-max-port has (${relayPorts})`,
        );
    }
    if (c.turnPort !== 0) {
      if (inside(c.turnPort, c.rtcPort, rtcLast))
        issue('turnPort', `${c.turnPort} is one of the WebRTC ports ${c.rtcPort}-${rtcLast}`);
      if (inside(c.turnPort, c.workerMinPort, c.workerMaxPort))
        issue('turnPort', `${c.turnPort} is inside the worker port range ${c.workerMinPort}-${c.workerMaxPort}`);
      if (c.turnPort === c.apiPort) issue('turnPort', `${c.turnPort} is the control API port`);
    }
    if (c.turnUserQuota > c.turnTotalQuota)
      issue('turnUserQuota', `must not be above turn-total-quota (${c.turnUserQuota} > ${c.turnTotalQuota})`);
  });

export interface MediaNodeConfig {
  nodeId: string;
  /** Signs this node's requests to the edge and checks the edge's requests. */
  secret: string;
  /** Also accepted on requests from the edge while a rotation is under way. */
  previousSecret?: string | undefined;
  edgeUrl: string;
  /** Plain http edge/control URLs beyond loopback were allowed (TREFFPUNKT_ALLOW_INSECURE_HTTP): warn at start. */
  allowInsecureHttp: boolean;
  region: string;
  operator: string;
  jurisdiction?: string | undefined;
  drainTimeoutMs: number;
  apiHost: string;
  apiPort: number;
  controlUrl: string;
  listenIp: string;
  announcedAddress?: string | undefined;
  rtcPort: number;
  workers: number;
  workerMinPort: number;
  workerMaxPort: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** The control API's test and diagnostic routes are mounted (diagnostics-api.ts). */
  diagnostics: boolean;
  turn: TurnConfig;
}

/** The node's TURN service (docs/turn.md). */
export interface TurnConfig {
  mode: 'embedded' | 'coturn' | 'off';
  listenIp: string;
  /** 0: any free port (embedded only). */
  port: number;
  relayIp: string;
  minPort: number;
  maxPort: number;
  secret: string;
  /** True when no secret was configured and a random one was made for this run. */
  secretGenerated: boolean;
  realm: string;
  userQuota: number;
  totalQuota: number;
  allowLoopbackPeers: boolean;
  coturnBin: string;
  /** Longest lifetime (s) an Allocate or Refresh grants; never beyond the credential's expiry (embedded). */
  maxLifetimeSeconds: number;
  /** Nonce lifetime (s): 438 Stale Nonce after it. */
  nonceLifetimeSeconds: number;
  /** coturn: how often sessions with an expired credential are ended (s). */
  expirySweepSeconds: number;
}

export { ConfigError };

/** Flags override environment variables, which override defaults. Throws ConfigError. */
export function loadMediaNodeConfig(argv: string[], env: Record<string, string | undefined>): MediaNodeConfig {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.values(SETTINGS).map((s) => [s.flag, { type: 'string' as const }])),
    strict: true,
  });
  const raw: Record<string, string | undefined> = {};
  for (const [key, s] of Object.entries(SETTINGS) as [Key, Setting][]) {
    raw[key] = (values[s.flag] as string | undefined) ?? emptyToUndefined(env[s.env]) ?? s.default;
  }
  const parsed = Raw.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const s = SETTINGS[i.path[0] as Key];
        return s ? `${s.env} (--${s.flag}): ${i.message}` : i.message;
      }),
    );
  }
  const c = parsed.data;
  const secret = c.secret ?? readSecretFile(c.secretFile!, 'secretFile');
  const turnListenIp = c.turnListenIp ?? c.listenIp;
  const configuredTurnSecret =
    c.turnMode === 'off'
      ? undefined
      : (c.turnSecret ?? (c.turnSecretFile ? readSecretFile(c.turnSecretFile, 'turnSecretFile') : undefined));
  const {
    turnMode,
    turnListenIp: _l,
    turnPort,
    turnRelayIp,
    turnMinPort,
    turnMaxPort,
    turnSecret: _s,
    turnSecretFile: _f,
    turnRealm,
    turnUserQuota,
    turnTotalQuota,
    turnAllowLoopbackPeers,
    coturnBin,
    turnMaxLifetime,
    turnNonceLifetime,
    turnExpirySweep,
    secretFile: _sf,
    ...rest
  } = c;
  return {
    ...rest,
    nodeId: c.nodeId!,
    edgeUrl: c.edgeUrl!,
    secret,
    controlUrl: c.controlUrl ?? defaultControlUrl(c.apiHost, c.apiPort),
    turn: {
      mode: turnMode,
      listenIp: turnListenIp,
      port: turnPort,
      relayIp: turnRelayIp ?? turnListenIp,
      minPort: turnMinPort,
      maxPort: turnMaxPort,
      // Unset: a fresh random secret per start. The edge learns it at (re-)registration, and a restarted
      // node has no allocations left that old credentials could refer to.
      secret: configuredTurnSecret ?? randomBytes(24).toString('base64url'),
      secretGenerated: configuredTurnSecret === undefined,
      realm: turnRealm,
      userQuota: turnUserQuota,
      totalQuota: turnTotalQuota,
      allowLoopbackPeers: turnAllowLoopbackPeers,
      coturnBin,
      maxLifetimeSeconds: turnMaxLifetime,
      nonceLifetimeSeconds: turnNonceLifetime,
      expirySweepSeconds: turnExpirySweep,
    },
  };
}

function defaultControlUrl(apiHost: string, apiPort: number): string {
  return `http://${apiHost.includes(':') ? `[${apiHost}]` : apiHost}:${apiPort}`;
}

function readSecretFile(path: string, key: 'secretFile' | 'turnSecretFile'): string {
  const where = `${SETTINGS[key].env} (--${SETTINGS[key].flag})`;
  let mode: number;
  let secret: string;
  try {
    mode = statSync(path).mode;
    secret = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new ConfigError([`${where}: cannot read ${path}: ${(err as Error).message}`]);
  }
  if (mode & 0o077) throw new ConfigError([`${where}: ${path} is readable by group or others; chmod 600 it`]);
  if (secret.length < 16) throw new ConfigError([`${where}: the secret in ${path} must be at least 16 characters`]);
  return secret;
}

function emptyToUndefined(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

export function helpText(): string {
  const lines = [
    'treffpunkt-media-node: the SFU (mediasoup workers), its control API for the edge, registration and heartbeats.',
    '',
    'Usage: node media-node/main.ts [--flag value ...]     (or: npm run media-node -- --flag value)',
    '',
    'Each setting can be given as a flag or as an environment variable; a flag wins.',
    '',
  ];
  for (const s of Object.values(SETTINGS) as Setting[]) {
    lines.push(`  --${s.flag.padEnd(20)} ${s.env}${s.default ? `  (default ${s.default})` : ''}`);
    lines.push(`  ${''.padEnd(22)} ${s.help}`);
  }
  lines.push(
    '',
    'MEDIASOUP_WORKER_BIN names the mediasoup-worker binary when it is not inside node_modules (see README).',
  );
  return lines.join('\n');
}
