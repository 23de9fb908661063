/**
 * TREFFPUNKT_EDGE_URLS: the deployment's other edges, for the browser app to reconnect to. Parsed as
 * origins, served at GET /api/edges (the shape the app parses), and allowed as WebSocket targets by the CSP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEdgeApp, type EdgeAdapter } from '../../edge/core/app.ts';
import { ConfigError, parseEdgeConfig } from '../../edge/core/config.ts';
import { InMemoryNodeRegistry } from '../../edge/core/node-registry.ts';
import { EDGE_LIST_PATH, EdgeList } from '../../shared/edge-list.ts';

const SECRETS = { TREFFPUNKT_NODE_SECRETS: `n1=${'s'.repeat(16)}` };
const silent = { debug() {}, info() {}, warn() {}, error() {} };

test('edge URLs: origins in order; none by default; a path or another scheme is refused', () => {
  assert.deepEqual(parseEdgeConfig(SECRETS).edgeUrls, []);
  assert.deepEqual(
    parseEdgeConfig({ ...SECRETS, TREFFPUNKT_EDGE_URLS: 'https://edge2.example.org, http://127.0.0.1:8081/' }).edgeUrls,
    ['https://edge2.example.org', 'http://127.0.0.1:8081'],
  );
  for (const bad of ['https://edge2.example.org/rooms', 'ftp://edge2.example.org', 'edge2.example.org'])
    assert.throws(
      () => parseEdgeConfig({ ...SECRETS, TREFFPUNKT_EDGE_URLS: bad }),
      (err) => err instanceof ConfigError && /TREFFPUNKT_EDGE_URLS/.test(err.message),
      bad,
    );
});

test('edge URLs: GET /api/edges lists them, and the page may open sockets to them (CSP)', async () => {
  const config = parseEdgeConfig({ ...SECRETS, TREFFPUNKT_EDGE_URLS: 'https://edge2.example.org' });
  const adapter = {
    asset: async () => new TextEncoder().encode('<!doctype html>').buffer,
    clientAddress: () => '127.0.0.1',
  } as unknown as EdgeAdapter;
  const app = createEdgeApp({ config, registry: new InMemoryNodeRegistry(3000), adapter, log: silent });
  const list = EdgeList.parse(await (await app.request(EDGE_LIST_PATH)).json());
  assert.deepEqual(list.edges, ['https://edge2.example.org']);
  const csp = (await app.request('/')).headers.get('content-security-policy') ?? '';
  assert.match(csp, /connect-src 'self' wss:\/\/edge2\.example\.org;/);
});
