/**
 * Every setting of the media node: its environment variable, its flag, its default and what it means, in
 * one table that `--help` prints and docs/configuration.md mirrors. Parsing and
 * validation are config.ts's.
 */

export interface Setting {
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
    help: 'Base URL of the edge this node registers with, e.g. https://meet.example.org, or several comma-separated (the edges of a cluster): the node registers with the first that answers and moves to the next when it fails. Required. Must be https unless it is loopback or allow-insecure-http is set (registrations carry the TURN secret).',
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
  reapTransportSeconds: {
    env: 'TREFFPUNKT_NODE_REAP_TRANSPORT_SECONDS',
    flag: 'reap-transport-seconds',
    help: 'A WebRTC transport not connected for this long (ICE/DTLS never completed, or ICE consent expired and never came back) is closed with its producers and consumers, so that abandoned media stops counting as load (2-3600).',
    default: '60',
  },
  reapRouterSeconds: {
    env: 'TREFFPUNKT_NODE_REAP_ROUTER_SECONDS',
    flag: 'reap-router-seconds',
    help: "A room's router with no transport and no pipe for this long is closed (2-86400).",
    default: '300',
  },
  keyFrameRequestDelayMs: {
    env: 'TREFFPUNKT_NODE_KEYFRAME_REQUEST_DELAY_MS',
    flag: 'keyframe-request-delay-ms',
    help: "A video producer's sender is asked for a key frame at most once in this long; a request within it is sent when it ends, not dropped. Browsers ignore a request that comes within 300 ms of the last (libwebrtc), and mediasoup would ask again only 1 s later: a consumer that starts just after another then waits that second for its first picture (docs/media.md). 0: every request at once (mediasoup's default) (0-5000).",
    default: '400',
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
    help: 'TURN service of this node: embedded (node-turn inside the node, UDP only), coturn (starts `turnserver`, UDP, TCP and TLS; the production choice, see docs/turn.md) or off.',
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
  metricsAddr: {
    env: 'TREFFPUNKT_METRICS_ADDR',
    flag: 'metrics-addr',
    help: 'host:port of a separate Prometheus listener (GET /metrics), e.g. 127.0.0.1:9465. Unset: no metrics. Beyond loopback it needs metrics-token.',
  },
  metricsToken: {
    env: 'TREFFPUNKT_METRICS_TOKEN',
    flag: 'metrics-token',
    help: 'Bearer token a scraper must send (at least 32 characters). Prefer the environment or the config file: flags show up in `ps`.',
  },
  metricsStatsInterval: {
    env: 'TREFFPUNKT_METRICS_STATS_INTERVAL_MS',
    flag: 'metrics-stats-interval',
    help: 'Bitrates, packet loss and RTT come from mediasoup getStats(), sampled at most this often (ms, 1000-600000) and for at most 200 transports and 500 producers/consumers per sample.',
    default: '5000',
  },
  turnTlsPort: {
    env: 'TREFFPUNKT_TURN_TLS_PORT',
    flag: 'turn-tls-port',
    help: 'coturn only: TURN over TLS port (turns:), for networks that let nothing out but TCP 443. 0 turns it off. Below 1024 coturn needs root or CAP_NET_BIND_SERVICE (docs/turn.md).',
    default: '443',
  },
  turnTlsCertFile: {
    env: 'TREFFPUNKT_TURN_TLS_CERT_FILE',
    flag: 'turn-tls-cert-file',
    help: 'coturn only: PEM certificate (chain) for TURN over TLS, valid for turn-tls-host. Unset: a self-signed one per start, which browsers refuse (local checks only).',
  },
  turnTlsKeyFile: {
    env: 'TREFFPUNKT_TURN_TLS_KEY_FILE',
    flag: 'turn-tls-key-file',
    help: 'coturn only: PEM private key of turn-tls-cert-file (must not be readable by group or others).',
  },
  turnTlsHost: {
    env: 'TREFFPUNKT_TURN_TLS_HOST',
    flag: 'turn-tls-host',
    help: 'coturn only: host name in the turns: URL; browsers check the certificate against it. Default: the host of the turn: URLs (announced address).',
  },
} as const satisfies Record<string, Setting>;

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
