/**
 * The media node's one typed config: defaults, then environment variables, then command-line flags,
 * then validation that names each wrong setting and why. The settings themselves (variable, flag, help)
 * are in settings.ts, which `--help` prints.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError } from '../shared/config-error.ts';
import { MetricsAddr, metricsListenerProblems } from '../shared/metrics-endpoint.ts';
import { Jurisdiction, MAX_NODE_WORKERS, NodeId } from '../shared/control.ts';
import { OperatorId, RegionId } from '../shared/ids.ts';
import { isBareOrigin, isInsecureUrl } from '../shared/transport-security.ts';
import { SETTINGS, type Setting } from './settings.ts';

type Key = keyof typeof SETTINGS;

const port = z.coerce
  .number()
  .int()
  .min(1, 'must be a port number 1-65535')
  .max(65535, 'must be a port number 1-65535');
const count = (max: number) => z.coerce.number().int().min(1, 'must be at least 1').max(max, `must be at most ${max}`);
const unspecified = (ip: string) => ip === '0.0.0.0' || ip === '::';
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

const Raw = z
  .object({
    nodeId: NodeId.optional().refine((v) => v !== undefined, 'is required'),
    secret: z.string().optional(),
    secretFile: z.string().optional(),
    previousSecret: z.string().min(16, 'must be at least 16 characters').optional(),
    // One URL, or several comma-separated: the node uses the first that answers (registration.ts).
    edgeUrl: z
      .string()
      .optional()
      .refine((v) => v !== undefined && edgeUrlList(v).length > 0, 'is required')
      .pipe(
        z
          .string()
          .transform(edgeUrlList)
          .pipe(
            z
              .array(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL (several: comma-separated)' }))
              .max(16, 'lists more than 16 edges')
              .refine((urls) => new Set(urls).size === urls.length, 'lists an edge twice'),
          ),
      ),
    region: RegionId,
    operator: OperatorId,
    jurisdiction: Jurisdiction.optional(),
    drainTimeoutMs: z.coerce
      .number()
      .int()
      .min(0, 'must be 0 or more')
      .max(3_600_000, 'must be at most 3600000 (one hour)'),
    reapTransportSeconds: z.coerce.number().int().min(2, 'must be at least 2').max(3600, 'must be at most 3600'),
    reapRouterSeconds: z.coerce.number().int().min(2, 'must be at least 2').max(86_400, 'must be at most 86400'),
    keyFrameRequestDelayMs: z.coerce.number().int().min(0, 'must be 0 or more').max(5000, 'must be at most 5000'),
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
      .refine((v) => v === undefined || isIP(v) !== 0 || DNS_NAME.test(v), 'must be an IP address or a DNS name')
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
    metricsAddr: MetricsAddr.optional(),
    metricsToken: z.string().optional(),
    metricsStatsInterval: z.coerce
      .number()
      .int()
      .min(1000, 'must be at least 1000')
      .max(600_000, 'must be at most 600000'),
    turnTlsPort: z.coerce
      .number()
      .int()
      .min(0, 'must be a port number 0-65535 (0: no TLS listener)')
      .max(65535, 'must be a port number 0-65535 (0: no TLS listener)'),
    turnTlsCertFile: z.string().optional(),
    turnTlsKeyFile: z.string().optional(),
    turnTlsHost: z
      .string()
      .optional()
      .refine((v) => v === undefined || isIP(v) !== 0 || DNS_NAME.test(v), 'must be an IP address or a DNS name'),
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
    for (const problem of metricsListenerProblems(c.metricsAddr, c.metricsToken))
      issue(
        problem.startsWith('TREFFPUNKT_METRICS_TOKEN') ? 'metricsToken' : 'metricsAddr',
        problem.replace(/^\S+: /, ''),
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
      // After a failed parse of the list itself the value is not a list: nothing more to check.
      const edges: string[] = Array.isArray(c.edgeUrl) ? c.edgeUrl : [];
      const insecureEdge = edges.find((u) => isInsecureUrl(u));
      if (insecureEdge !== undefined) issue('edgeUrl', edges.length > 1 ? `${insecure} (${insecureEdge})` : insecure);
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
    if (c.turnMode === 'coturn' && c.turnTlsPort !== 0) {
      if ((c.turnTlsCertFile === undefined) !== (c.turnTlsKeyFile === undefined))
        issue(
          'turnTlsCertFile',
          `set both ${SETTINGS.turnTlsCertFile.env} and ${SETTINGS.turnTlsKeyFile.env}, or neither (a self-signed pair for local runs)`,
        );
      if (c.turnTlsPort === c.turnPort) issue('turnTlsPort', `must differ from turn-port (${c.turnPort})`);
      if (inside(c.turnTlsPort, c.turnMinPort, c.turnMaxPort))
        issue('turnTlsPort', `${c.turnTlsPort} is inside the TURN relay port range ${c.turnMinPort}-${c.turnMaxPort}`);
      if (inside(c.turnTlsPort, c.rtcPort, rtcLast))
        issue('turnTlsPort', `${c.turnTlsPort} is one of the WebRTC ports ${c.rtcPort}-${rtcLast}`);
      if (c.turnTlsPort === c.apiPort) issue('turnTlsPort', `${c.turnTlsPort} is the control API port`);
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
  /** The edges this node registers with, in the order it tries them (TREFFPUNKT_EDGE_URL, comma-separated). */
  edgeUrls: string[];
  /** Plain http edge/control URLs beyond loopback were allowed (TREFFPUNKT_ALLOW_INSECURE_HTTP): warn at start. */
  allowInsecureHttp: boolean;
  region: string;
  operator: string;
  jurisdiction?: string | undefined;
  drainTimeoutMs: number;
  /** The reaper's bounds (reaper.ts), in seconds. */
  reapTransportSeconds: number;
  reapRouterSeconds: number;
  /** mediasoup's keyFrameRequestDelay for video producers (media-room.ts). */
  keyFrameRequestDelayMs: number;
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
  /** The Prometheus listener (media-node/metrics.ts); none when unset. */
  metricsAddr?: MetricsAddr | undefined;
  metricsToken?: string | undefined;
  /** getStats() samples at most this often (ms). */
  metricsStatsInterval: number;
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
  /** coturn: TURN over TLS (turns:), undefined when off or embedded. */
  tls?: TurnTlsConfig | undefined;
}

/** coturn's TLS listener. Without certFile/keyFile the node makes a self-signed pair per start. */
export interface TurnTlsConfig {
  port: number;
  /** Host in the turns: URL (browsers check the certificate against it); default the turn: URLs' host. */
  host?: string;
  certFile?: string;
  keyFile?: string;
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
    turnTlsPort,
    turnTlsCertFile,
    turnTlsKeyFile,
    turnTlsHost,
    secretFile: _sf,
    edgeUrl,
    ...rest
  } = c;
  return {
    ...rest,
    nodeId: c.nodeId!,
    edgeUrls: edgeUrl,
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
      tls:
        turnMode === 'coturn' && turnTlsPort !== 0
          ? {
              port: turnTlsPort,
              ...(turnTlsHost ? { host: turnTlsHost } : {}),
              ...(turnTlsCertFile && turnTlsKeyFile
                ? { certFile: turnTlsCertFile, keyFile: readableKeyFile(turnTlsKeyFile, turnTlsCertFile) }
                : {}),
            }
          : undefined,
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

/**
 * The TLS key file must exist and be private (like the secret files), the certificate must be readable:
 * checked at start so that a typo is a clear error here, not a coturn that starts without TLS.
 */
function readableKeyFile(keyFile: string, certFile: string): string {
  const key = `${SETTINGS.turnTlsKeyFile.env} (--${SETTINGS.turnTlsKeyFile.flag})`;
  const cert = `${SETTINGS.turnTlsCertFile.env} (--${SETTINGS.turnTlsCertFile.flag})`;
  try {
    if (!readFileSync(certFile, 'utf8').includes('-----BEGIN CERTIFICATE-----'))
      throw new ConfigError([`${cert}: ${certFile} holds no PEM certificate`]);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([`${cert}: cannot read ${certFile}: ${(err as Error).message}`]);
  }
  let mode: number;
  try {
    mode = statSync(keyFile).mode;
    readFileSync(keyFile);
  } catch (err) {
    throw new ConfigError([`${key}: cannot read ${keyFile}: ${(err as Error).message}`]);
  }
  if (mode & 0o077) throw new ConfigError([`${key}: ${keyFile} is readable by group or others; chmod 600 it`]);
  return keyFile;
}

/** The entries of a comma-separated list of edge URLs, without a trailing slash each. */
function edgeUrlList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim().replace(/\/+$/, ''))
    .filter(Boolean);
}

function emptyToUndefined(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}
