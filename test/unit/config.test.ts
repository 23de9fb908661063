import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMediaNodeConfig } from '../../media-node/config.ts';
import { helpText, SETTINGS } from '../../media-node/settings.ts';
import { ConfigError, parseEdgeConfig } from '../../edge/core/config.ts';

const base = {
  TREFFPUNKT_NODE_ID: 'n1',
  TREFFPUNKT_NODE_SECRET: 's'.repeat(16),
  TREFFPUNKT_EDGE_URL: 'http://127.0.0.1:8080',
  TREFFPUNKT_NODE_WORKERS: '2',
};

function problems(argv: string[], env: Record<string, string>): string[] {
  try {
    loadMediaNodeConfig(argv, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

test('media node: defaults fill a minimal config', () => {
  const c = loadMediaNodeConfig([], base);
  assert.equal(c.listenIp, '127.0.0.1');
  assert.equal(c.rtcPort, 40000);
  assert.equal(c.controlUrl, 'http://127.0.0.1:4000');
  assert.equal(c.workers, 2);
});

test('media node: flags override environment', () => {
  assert.equal(
    loadMediaNodeConfig(['--rtc-port', '41000'], { ...base, TREFFPUNKT_NODE_RTC_PORT: '42000' }).rtcPort,
    41000,
  );
});

test('media node: each wrong setting is named with the reason', () => {
  assert.match(
    problems([], {}).join('\n'),
    /TREFFPUNKT_NODE_ID.*required[\s\S]*TREFFPUNKT_EDGE_URL.*required[\s\S]*TREFFPUNKT_NODE_SECRET.*required/,
  );
  assert.match(
    problems([], { ...base, TREFFPUNKT_NODE_SECRET: 'short' }).join(),
    /TREFFPUNKT_NODE_SECRET.*at least 16/,
  );
  assert.match(
    problems([], { ...base, TREFFPUNKT_NODE_LISTEN_IP: '0.0.0.0' }).join(),
    /TREFFPUNKT_NODE_ANNOUNCED_ADDRESS.*required when listen-ip is 0.0.0.0/,
  );
  assert.match(
    problems([], {
      ...base,
      TREFFPUNKT_NODE_LISTEN_IP: '0.0.0.0',
      TREFFPUNKT_NODE_ANNOUNCED_ADDRESS: '0.0.0.0',
    }).join(),
    /not an address that browsers can connect to/,
  );
  assert.match(problems([], { ...base, TREFFPUNKT_NODE_ANNOUNCED_ADDRESS: '239.1.1.1' }).join(), /multicast/);
  assert.match(
    problems([], { ...base, TREFFPUNKT_NODE_ANNOUNCED_ADDRESS: 'not an ip!' }).join(),
    /IP address or a DNS name/,
  );
  assert.match(
    problems([], { ...base, TREFFPUNKT_NODE_LISTEN_IP: '300.1.1.1' }).join(),
    /TREFFPUNKT_NODE_LISTEN_IP.*IPv4 or IPv6/,
  );
  assert.match(problems([], { ...base, TREFFPUNKT_NODE_RTC_PORT: '40100' }).join(), /overlap the worker port range/);
  assert.match(problems([], { ...base, TREFFPUNKT_NODE_API_PORT: '40001' }).join(), /is one of the WebRTC ports/);
  assert.match(
    problems([], { ...base, TREFFPUNKT_NODE_WORKER_MIN_PORT: '5000', TREFFPUNKT_NODE_WORKER_MAX_PORT: '4000' }).join(),
    /must not be above worker-max-port/,
  );
  assert.match(problems([], { ...base, TREFFPUNKT_EDGE_URL: 'ftp://x' }).join(), /http\(s\) URL/);
  assert.match(problems([], { ...base, TREFFPUNKT_NODE_ID: 'Bad_Id' }).join(), /TREFFPUNKT_NODE_ID/);
  assert.throws(() => loadMediaNodeConfig(['--no-such-flag', 'x'], base), /no-such-flag/);
});

test('media node: a secret file readable by others is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-secret-'));
  const file = join(dir, 'secret');
  writeFileSync(file, 'f'.repeat(32));
  const env = { ...base, TREFFPUNKT_NODE_SECRET: '', TREFFPUNKT_NODE_SECRET_FILE: file };
  chmodSync(file, 0o644);
  assert.match(problems([], env).join(), /readable by group or others/);
  chmodSync(file, 0o600);
  assert.equal(loadMediaNodeConfig([], env).secret, 'f'.repeat(32));
});

test('media node: --help lists every setting', () => {
  const help = helpText();
  for (const s of Object.values(SETTINGS)) {
    assert.ok(help.includes(`--${s.flag}`), s.flag);
    assert.ok(help.includes(s.env), s.env);
  }
});

test('media node: the key frame request window is 400 ms unless set, 0-5000', () => {
  assert.equal(loadMediaNodeConfig([], base).keyFrameRequestDelayMs, 400);
  assert.equal(
    loadMediaNodeConfig([], { ...base, TREFFPUNKT_NODE_KEYFRAME_REQUEST_DELAY_MS: '0' }).keyFrameRequestDelayMs,
    0,
  );
  assert.equal(loadMediaNodeConfig(['--keyframe-request-delay-ms', '1000'], base).keyFrameRequestDelayMs, 1000);
  assert.match(
    problems([], { ...base, TREFFPUNKT_NODE_KEYFRAME_REQUEST_DELAY_MS: '6000' }).join(),
    /TREFFPUNKT_NODE_KEYFRAME_REQUEST_DELAY_MS.*at most 5000/,
  );
});

test('media node: the diagnostic routes are off unless asked for', () => {
  assert.equal(loadMediaNodeConfig([], base).diagnostics, false);
  assert.equal(loadMediaNodeConfig([], { ...base, TREFFPUNKT_NODE_DIAGNOSTICS: '1' }).diagnostics, true);
  assert.equal(loadMediaNodeConfig(['--diagnostics', 'true'], base).diagnostics, true);
  assert.match(
    problems([], { ...base, TREFFPUNKT_NODE_DIAGNOSTICS: 'yes' }).join(),
    /TREFFPUNKT_NODE_DIAGNOSTICS.*true, false, 1 or 0/,
  );
});

test('edge: node secrets are parsed and checked', () => {
  const c = parseEdgeConfig({ TREFFPUNKT_NODE_SECRETS: 'a=0123456789abcdef, b-2=fedcba9876543210|0123456789abcdef' });
  assert.deepEqual(c.nodeSecrets.get('a'), ['0123456789abcdef']);
  assert.deepEqual(
    c.nodeSecrets.get('b-2'),
    ['fedcba9876543210', '0123456789abcdef'],
    'during a rotation: current first, previous accepted',
  );
  assert.equal(c.maxMessageBytes, 65536);
  const err = (env: Record<string, string>) => {
    try {
      parseEdgeConfig(env);
    } catch (e) {
      return (e as ConfigError).problems.join('\n');
    }
    return '';
  };
  assert.match(err({}), /TREFFPUNKT_NODE_SECRETS: is required/);
  assert.match(err({ TREFFPUNKT_NODE_SECRETS: 'a=short' }), /at least 16/);
  assert.match(err({ TREFFPUNKT_NODE_SECRETS: 'a=0123456789abcdef|short' }), /at least 16/);
  assert.match(
    err({ TREFFPUNKT_NODE_SECRETS: 'a=0123456789abcdef', TREFFPUNKT_TRUSTED_ISSUERS: '{not json' }),
    /TREFFPUNKT_TRUSTED_ISSUERS: must be a JSON array/,
  );
  assert.match(
    err({
      TREFFPUNKT_NODE_SECRETS: 'a=0123456789abcdef',
      TREFFPUNKT_TRUSTED_ISSUERS: '[{"issuer":"x","hs256Secret":"short"}]',
    }),
    /at least 32/,
  );
  assert.match(
    err({ TREFFPUNKT_NODE_SECRETS: 'a=0123456789abcdef', TREFFPUNKT_GUEST_POLICY: 'maybe' }),
    /TREFFPUNKT_GUEST_POLICY/,
  );
  assert.match(err({ TREFFPUNKT_NODE_SECRETS: 'a=0123456789abcdef,a=0123456789abcdef' }), /listed twice/);
  assert.match(err({ TREFFPUNKT_NODE_SECRETS: '=0123456789abcdef' }), /valid node id/);
  assert.match(
    err({ TREFFPUNKT_NODE_SECRETS: 'a=0123456789abcdef', TREFFPUNKT_ROOM_CAPACITY: '0' }),
    /TREFFPUNKT_ROOM_CAPACITY/,
  );
});

test('edge config: media constraints (operators, jurisdictions with EU) and the node check interval', () => {
  const secrets = { TREFFPUNKT_NODE_SECRETS: 'a=0123456789abcdef' };
  const open = parseEdgeConfig(secrets);
  assert.deepEqual(open.mediaConstraint, {});
  assert.equal(open.nodeHeartbeatTimeoutMs, 4_500);
  assert.equal(open.nodeCheckIntervalMs, 1_500);
  const c = parseEdgeConfig({
    ...secrets,
    TREFFPUNKT_MEDIA_OPERATORS: 'stadtwerke, uni-x',
    TREFFPUNKT_MEDIA_JURISDICTIONS: 'eu,ch',
  });
  assert.deepEqual(c.mediaConstraint.operators, ['stadtwerke', 'uni-x']);
  assert.equal(c.mediaConstraint.jurisdictions?.length, 28);
  assert.ok(c.mediaConstraint.jurisdictions?.includes('CH'));
  assert.throws(
    () => parseEdgeConfig({ ...secrets, TREFFPUNKT_MEDIA_JURISDICTIONS: 'Germany' }),
    (err: ConfigError) => /TREFFPUNKT_MEDIA_JURISDICTIONS: "Germany" is not valid/.test(err.problems.join('\n')),
  );
});

test('edge: resource caps have sane defaults and can be set (issue 10)', () => {
  const secrets = { TREFFPUNKT_NODE_SECRETS: `n1=${'s'.repeat(16)}` };
  const c = parseEdgeConfig(secrets);
  assert.equal(c.maxTransports, 4);
  assert.equal(c.maxConsumers, 4 * 99, 'everyone else’s producers in a full room');
  assert.equal(c.lobbyCapacity, 100);
  assert.equal(c.joinTimeoutMs, 30_000);
  assert.equal(c.socketsPerAddress, 20);
  assert.equal(
    parseEdgeConfig({ ...secrets, TREFFPUNKT_ROOM_CAPACITY: '10' }).lobbyCapacity,
    10,
    'a lobby as large as the room',
  );
  assert.equal(parseEdgeConfig({ ...secrets, TREFFPUNKT_ROOM_CAPACITY: '5000' }).maxConsumers, 1000);
  const set = parseEdgeConfig({
    ...secrets,
    TREFFPUNKT_MAX_TRANSPORTS: '6',
    TREFFPUNKT_MAX_CONSUMERS: '50',
    TREFFPUNKT_LOBBY_CAPACITY: '3',
    TREFFPUNKT_JOIN_TIMEOUT_MS: '5000',
    TREFFPUNKT_SOCKETS_PER_ADDRESS: '7',
  });
  assert.deepEqual(
    [set.maxTransports, set.maxConsumers, set.lobbyCapacity, set.joinTimeoutMs, set.socketsPerAddress],
    [6, 50, 3, 5000, 7],
  );
  assert.throws(
    () => parseEdgeConfig({ ...secrets, TREFFPUNKT_MAX_TRANSPORTS: '1' }),
    (err: ConfigError) => err.problems.some((p) => p.startsWith('TREFFPUNKT_MAX_TRANSPORTS')),
  );
  assert.throws(() => parseEdgeConfig({ ...secrets, TREFFPUNKT_SOCKETS_PER_ADDRESS: '0' }), ConfigError);
});

test('edge: node credentials in JSON pin operator, jurisdiction and control origin; the short form still works', () => {
  const c = parseEdgeConfig({
    TREFFPUNKT_NODE_SECRETS: JSON.stringify({
      'node-a': {
        secret: '0123456789abcdef',
        operator: 'example-gmbh',
        jurisdiction: 'DE',
        controlOrigin: 'https://media-a.example.org:4000/',
      },
      'node-b': { secret: 'fedcba9876543210|0123456789abcdef' },
    }),
  });
  assert.deepEqual(c.nodeSecrets.get('node-a'), ['0123456789abcdef']);
  assert.deepEqual(c.nodeSecrets.get('node-b'), ['fedcba9876543210', '0123456789abcdef']);
  assert.deepEqual(c.nodePins.get('node-a'), {
    operator: 'example-gmbh',
    jurisdiction: 'DE',
    controlOrigin: 'https://media-a.example.org:4000',
  });
  assert.deepEqual(c.nodePins.get('node-b'), {});
  assert.equal(c.allowInsecureHttp, false);
  assert.equal(c.nodeEventsPerSecond, 200);
  assert.deepEqual(parseEdgeConfig({ TREFFPUNKT_NODE_SECRETS: 'a=0123456789abcdef' }).nodePins.get('a'), {});
  const err = (secrets: unknown, extra: Record<string, string> = {}) => {
    try {
      parseEdgeConfig({
        TREFFPUNKT_NODE_SECRETS: typeof secrets === 'string' ? secrets : JSON.stringify(secrets),
        ...extra,
      });
    } catch (e) {
      return (e as ConfigError).problems.join('\n');
    }
    return '';
  };
  assert.match(err('{"a": '), /not valid JSON/);
  assert.match(err({ a: { secret: 'short' } }), /at least 16/);
  assert.match(err({ a: { secret: '0123456789abcdef', jurisdiction: 'Germany' } }), /a\.jurisdiction/);
  assert.match(
    err({ a: { secret: '0123456789abcdef', controlOrigin: 'https://m.example.org/path' } }),
    /a\.controlOrigin: must be an origin only/,
  );
  assert.match(err({ a: { secret: '0123456789abcdef', region: 'x' } }), /a: .*region|Unrecognized key/i);
  assert.match(err({ Bad_Id: { secret: '0123456789abcdef' } }), /not a valid node id/);
  assert.match(
    err({ a: { secret: '0123456789abcdef', controlOrigin: 'http://10.0.0.5:4000' } }),
    /plain http beyond loopback/,
  );
  assert.equal(
    err(
      { a: { secret: '0123456789abcdef', controlOrigin: 'http://10.0.0.5:4000' } },
      { TREFFPUNKT_ALLOW_INSECURE_HTTP: '1' },
    ),
    '',
  );
  assert.equal(
    err({ a: { secret: '0123456789abcdef', controlOrigin: 'http://127.0.0.1:4000' } }),
    '',
    'loopback is fine',
  );
  assert.ok(!err({ a: { secret: 'short-secret' } }).includes('short-secret'), 'problems never quote a secret');
  assert.match(err('a=0123456789abcdef', { TREFFPUNKT_ALLOW_INSECURE_HTTP: 'yes' }), /TREFFPUNKT_ALLOW_INSECURE_HTTP/);
});

test('media node: plain http edge and control URLs only on loopback, unless explicitly allowed', () => {
  assert.deepEqual(problems([], base), [], 'loopback http is fine (the default and the tests)');
  assert.deepEqual(problems([], { ...base, TREFFPUNKT_EDGE_URL: 'http://localhost:8080' }), []);
  assert.deepEqual(
    problems([], {
      ...base,
      TREFFPUNKT_EDGE_URL: 'https://meet.example.org',
      TREFFPUNKT_NODE_CONTROL_URL: 'https://media1.example.org:4000',
    }),
    [],
  );
  assert.match(
    problems([], { ...base, TREFFPUNKT_EDGE_URL: 'http://meet.example.org' }).join(),
    /TREFFPUNKT_EDGE_URL \(--edge-url\): must be https/,
  );
  assert.match(
    problems([], { ...base, TREFFPUNKT_NODE_CONTROL_URL: 'http://10.0.0.5:4000' }).join(),
    /TREFFPUNKT_NODE_CONTROL_URL \(--control-url\): must be https/,
  );
  // The default control URL is plain http on the API host: fine on loopback, not beyond.
  assert.match(
    problems([], { ...base, TREFFPUNKT_NODE_API_HOST: '10.0.0.5' }).join(),
    /TREFFPUNKT_NODE_CONTROL_URL.*the default http:\/\/10\.0\.0\.5:4000 is plain http/,
  );
  const allowed = loadMediaNodeConfig(['--allow-insecure-http', 'true'], {
    ...base,
    TREFFPUNKT_EDGE_URL: 'http://meet.example.org',
    TREFFPUNKT_NODE_API_HOST: '10.0.0.5',
  });
  assert.equal(allowed.allowInsecureHttp, true);
  assert.equal(allowed.controlUrl, 'http://10.0.0.5:4000');
  assert.equal(
    loadMediaNodeConfig([], {
      ...base,
      TREFFPUNKT_ALLOW_INSECURE_HTTP: '1',
      TREFFPUNKT_EDGE_URL: 'http://meet.example.org',
    }).allowInsecureHttp,
    true,
  );
  assert.equal(loadMediaNodeConfig([], base).allowInsecureHttp, false);
  assert.match(
    problems([], { ...base, TREFFPUNKT_ALLOW_INSECURE_HTTP: 'maybe' }).join(),
    /TREFFPUNKT_ALLOW_INSECURE_HTTP/,
  );
  assert.match(
    problems([], { ...base, TREFFPUNKT_NODE_CONTROL_URL: 'https://media1.example.org/control' }).join(),
    /TREFFPUNKT_NODE_CONTROL_URL.*origin only/,
  );
  assert.match(helpText(), /--allow-insecure-http/);
});

test('media node: several edges, comma-separated, in order; each checked', () => {
  const c = loadMediaNodeConfig([], {
    ...base,
    TREFFPUNKT_EDGE_URL: 'https://edge-a.example.org/, https://edge-b.example.org:8443',
  });
  assert.deepEqual(c.edgeUrls, ['https://edge-a.example.org', 'https://edge-b.example.org:8443']);
  assert.match(
    problems([], { ...base, TREFFPUNKT_EDGE_URL: 'https://edge-a.example.org,http://edge-b.example.org' }).join(),
    /TREFFPUNKT_EDGE_URL.*must be https.*\(http:\/\/edge-b\.example\.org\)/,
  );
  assert.match(
    problems([], { ...base, TREFFPUNKT_EDGE_URL: 'https://a.example.org,https://a.example.org' }).join(),
    /TREFFPUNKT_EDGE_URL.*lists an edge twice/,
  );
  assert.match(problems([], { ...base, TREFFPUNKT_EDGE_URL: 'https://a.example.org,ftp://x' }).join(), /http\(s\) URL/);
  assert.match(problems([], { ...base, TREFFPUNKT_EDGE_URL: ' , ' }).join(), /TREFFPUNKT_EDGE_URL.*required/);
});
