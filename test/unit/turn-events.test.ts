/**
 * The TURN service's security events (media-node/turn/turn-events.ts): refused peers are warnings an
 * operator sees, limited to one a minute per peer and reason (Send and ChannelData are checked per packet).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { turnSecurityEvents } from '../../media-node/turn/turn-events.ts';
import type { TurnLogger } from '../../media-node/turn/embedded-turn.ts';

function recorder() {
  const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (fields: object, msg: string) => void lines.push({ level, fields: { ...fields }, msg });
  const log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as TurnLogger;
  return { lines, log };
}

test('a refused peer is a warning naming the peer and why, at most once a minute per peer and reason', () => {
  const { lines, log } = recorder();
  let now = 1_000_000;
  const events = turnSecurityEvents(log, () => now);
  for (let i = 0; i < 50; i++) events.peerRefused('10.0.0.7', 5432, 'private (RFC 1918) (10.0.0.0/8)', 'Send');
  events.peerRefused('10.0.0.8', undefined, 'private (RFC 1918) (10.0.0.0/8)', 'CreatePermission');
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.level, 'warn');
  assert.deepEqual(lines[0]!.fields, {
    security: true,
    event: 'turn.peer-refused',
    peer: '10.0.0.7',
    port: 5432,
    why: 'private (RFC 1918) (10.0.0.0/8)',
    method: 'Send',
  });
  assert.match(lines[0]!.msg, /10\.0\.0\.7 refused/);
  assert.equal(lines[1]!.fields.port, undefined);
  now += 60_000;
  events.peerRefused('10.0.0.7', 5432, 'private (RFC 1918) (10.0.0.0/8)', 'Send');
  assert.equal(lines.length, 3);
  assert.equal(lines[2]!.fields.suppressed, 49, 'the next warning says how many were left out');
});
