import { test } from 'node:test';
import assert from 'node:assert/strict';
import { events, methods, RequestEnvelope, RoomName, ServerFrame } from '../../shared/signaling.ts';
import { NodeRegistration } from '../../shared/control.ts';

test('join params: valid names pass, trimmed; bad ones fail', () => {
  assert.deepEqual(methods.join.params.parse({ protocolVersion: 1, name: '  Anna Müller ' }), { protocolVersion: 1, name: 'Anna Müller' });
  assert.equal(methods.join.params.parse({ protocolVersion: 1, name: '李小龍 🎉' }).name, '李小龍 🎉');
  // The name may come from a join token instead; the room refuses a join with neither.
  assert.ok(methods.join.params.safeParse({ protocolVersion: 1, token: 'eyJ...' }).success);
  assert.ok(methods.join.params.safeParse({ protocolVersion: 1 }).success);
  for (const bad of [
    {},
    { protocolVersion: 1, token: '' },
    { protocolVersion: 1, token: 'x'.repeat(8193) },
    { protocolVersion: 1, name: '   ' },
    { protocolVersion: 1, name: 'x'.repeat(65) },
    { protocolVersion: 1, name: 'tab\there' },
    { protocolVersion: 1.5, name: 'n' },
    { protocolVersion: 1, name: 'n', extra: 1 },
    { protocolVersion: 1, name: 42 },
  ]) {
    assert.equal(methods.join.params.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

test('request envelope: integer id, string method, nothing else', () => {
  assert.ok(RequestEnvelope.safeParse({ id: 0, method: 'ping' }).success);
  assert.ok(RequestEnvelope.safeParse({ id: 3, method: 'ping', params: {} }).success);
  for (const bad of [null, [], 'x', { id: -1, method: 'ping' }, { id: 1.5, method: 'ping' }, { id: 1 }, { id: 1, method: 'ping', x: 1 }, { id: 1, method: 'm'.repeat(65) }]) {
    assert.equal(RequestEnvelope.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

test('produce params bound the RTP parameters', () => {
  const ok = { transportId: 't', kind: 'audio', source: 'microphone', rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }] } };
  assert.ok(methods.produce.params.safeParse(ok).success);
  assert.equal(methods.produce.params.safeParse({ ...ok, kind: 'smell' }).success, false);
  assert.equal(methods.produce.params.safeParse({ ...ok, source: 'hologram' }).success, false);
  assert.equal(methods.produce.params.safeParse({ ...ok, rtpParameters: { codecs: [] } }).success, false);
  assert.equal(methods.produce.params.safeParse({ ...ok, rtpParameters: { codecs: [{ ...ok.rtpParameters.codecs[0], payloadType: 300 }] } }).success, false);
  const many = Array.from({ length: 33 }, () => ok.rtpParameters.codecs[0]);
  assert.equal(methods.produce.params.safeParse({ ...ok, rtpParameters: { codecs: many } }).success, false);
});

test('room names: letters, digits, - and _, 1-64, not starting with - or _', () => {
  for (const good of ['a', 'Team-7', 'x_y', 'A'.repeat(64)]) assert.ok(RoomName.safeParse(good).success, good);
  for (const bad of ['', '-a', '_a', 'a b', '../x', 'ä', 'A'.repeat(65), 'assets/x']) assert.equal(RoomName.safeParse(bad).success, false, bad);
});

test('server frames: responses, errors and known events only', () => {
  assert.ok(ServerFrame.safeParse({ id: 1, ok: true, result: {} }).success);
  assert.ok(ServerFrame.safeParse({ id: null, ok: false, error: { code: 'BAD_JSON', message: 'x' } }).success);
  assert.ok(ServerFrame.safeParse({ event: 'participantLeft', data: { participantId: 'p' } }).success);
  assert.equal(ServerFrame.safeParse({ id: 1, ok: false, error: { code: 'MADE_UP', message: 'x' } }).success, false);
  assert.equal(ServerFrame.safeParse({ event: 'nope', data: {} }).success, false);
  assert.equal(events.producerAdded.safeParse({ participantId: 'p', producerId: 'q', kind: 'video', source: 'screen' }).success, true);
});

test('node registration: control URL must be http(s)', () => {
  const reg = { nodeId: 'n-1', controlUrl: 'https://node.example:4000', region: 'eu', operator: 'op', load: { workers: 1, routers: 0, transports: 0, producers: 0, consumers: 0 } };
  assert.ok(NodeRegistration.safeParse(reg).success);
  assert.equal(NodeRegistration.safeParse({ ...reg, controlUrl: 'file:///etc/passwd' }).success, false);
  assert.equal(NodeRegistration.safeParse({ ...reg, nodeId: 'Upper' }).success, false);
});
