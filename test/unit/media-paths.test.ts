/**
 * Which paths a transport tries (edge/web/meeting/media-paths.ts, issue 16): the first attempt leaves
 * TURN/TLS out, the relay-only retry has every TURN URL, and what was tried is named in a stable order.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { iceServersFor, pathsTried, turnPath } from '../../edge/web/meeting/media-paths.ts';

const server = {
  urls: [
    'turn:node.example:3478?transport=udp',
    'turn:node.example:3478?transport=tcp',
    'turns:turn.example:443?transport=tcp',
  ],
  username: '1796150000:abc',
  credential: 'x',
};

test('turn: and turns: URLs map to paths', () => {
  assert.equal(turnPath('turn:h:3478?transport=udp'), 'turn-udp');
  assert.equal(turnPath('turn:h:3478'), 'turn-udp', 'no transport: UDP (RFC 7065)');
  assert.equal(turnPath('turn:h:3478?transport=tcp'), 'turn-tcp');
  assert.equal(turnPath('TURNS:h:443?transport=tcp'), 'turn-tls');
  assert.equal(turnPath('turns:[2001:db8::1]:443?transport=tcp'), 'turn-tls');
});

test('the first attempt has no turns:, the relay retry has every URL', () => {
  assert.deepEqual(iceServersFor([server], 'all'), [{ ...server, urls: server.urls.slice(0, 2) }]);
  assert.deepEqual(iceServersFor([server], 'relay'), [server]);
  const tlsOnly = { ...server, urls: ['turns:turn.example:443?transport=tcp'] };
  assert.deepEqual(iceServersFor([tlsOnly], 'all'), [], 'a server left without URLs is left out');
  assert.deepEqual(iceServersFor([], 'relay'), []);
});

test('the paths tried, in a stable order', () => {
  const candidates = [{ protocol: 'tcp' }, { protocol: 'udp' }];
  assert.deepEqual(pathsTried(candidates, iceServersFor([server], 'all'), 'all'), [
    'udp',
    'tcp',
    'turn-udp',
    'turn-tcp',
  ]);
  assert.deepEqual(pathsTried(candidates, [server], 'relay'), ['turn-udp', 'turn-tcp', 'turn-tls']);
  assert.deepEqual(pathsTried([{ protocol: 'tcp' }], [], 'all'), ['tcp']);
});
