import { test } from 'node:test';
import assert from 'node:assert/strict';
import { events, methods, nameKey, RequestEnvelope, RoomName, ServerFrame } from '../../shared/signaling.ts';
import { NodeRegistration } from '../../shared/control.ts';

test('join params: valid names pass, trimmed; bad ones fail', () => {
  assert.deepEqual(methods.join.params.parse({ protocolVersion: 1, name: '  Anna Müller ' }), {
    protocolVersion: 1,
    name: 'Anna Müller',
  });
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
  for (const bad of [
    null,
    [],
    'x',
    { id: -1, method: 'ping' },
    { id: 1.5, method: 'ping' },
    { id: 1 },
    { id: 1, method: 'ping', x: 1 },
    { id: 1, method: 'm'.repeat(65) },
  ]) {
    assert.equal(RequestEnvelope.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

test('produce params bound the RTP parameters', () => {
  const ok = {
    transportId: 't',
    kind: 'audio',
    source: 'microphone',
    rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }] },
  };
  assert.ok(methods.produce.params.safeParse(ok).success);
  assert.equal(methods.produce.params.safeParse({ ...ok, kind: 'smell' }).success, false);
  assert.equal(methods.produce.params.safeParse({ ...ok, source: 'hologram' }).success, false);
  assert.equal(methods.produce.params.safeParse({ ...ok, rtpParameters: { codecs: [] } }).success, false);
  assert.equal(
    methods.produce.params.safeParse({
      ...ok,
      rtpParameters: { codecs: [{ ...ok.rtpParameters.codecs[0], payloadType: 300 }] },
    }).success,
    false,
  );
  const many = Array.from({ length: 33 }, () => ok.rtpParameters.codecs[0]);
  assert.equal(methods.produce.params.safeParse({ ...ok, rtpParameters: { codecs: many } }).success, false);
});

test('room names: letters, digits, - and _, 1-64, not starting with - or _', () => {
  for (const good of ['a', 'Team-7', 'x_y', 'A'.repeat(64)]) assert.ok(RoomName.safeParse(good).success, good);
  for (const bad of ['', '-a', '_a', 'a b', '../x', 'ä', 'A'.repeat(65), 'assets/x'])
    assert.equal(RoomName.safeParse(bad).success, false, bad);
});

test('server frames: responses, errors and known events only', () => {
  assert.ok(ServerFrame.safeParse({ id: 1, ok: true, result: {} }).success);
  assert.ok(ServerFrame.safeParse({ id: null, ok: false, error: { code: 'BAD_JSON', message: 'x' } }).success);
  assert.ok(ServerFrame.safeParse({ event: 'participantLeft', data: { participantId: 'p' } }).success);
  assert.equal(ServerFrame.safeParse({ id: 1, ok: false, error: { code: 'MADE_UP', message: 'x' } }).success, false);
  assert.equal(ServerFrame.safeParse({ event: 'nope', data: {} }).success, false);
  assert.equal(
    events.producerAdded.safeParse({ participantId: 'p', producerId: 'q', kind: 'video', source: 'screen' }).success,
    true,
  );
});

test('node registration: control URL must be http(s)', () => {
  const reg = {
    nodeId: 'n-1',
    controlUrl: 'https://node.example:4000',
    region: 'eu',
    operator: 'op',
    load: { workers: 1, routers: 0, transports: 0, producers: 0, consumers: 0 },
  };
  assert.ok(NodeRegistration.safeParse(reg).success);
  assert.equal(NodeRegistration.safeParse({ ...reg, controlUrl: 'file:///etc/passwd' }).success, false);
  assert.equal(NodeRegistration.safeParse({ ...reg, nodeId: 'Upper' }).success, false);
});

test('names: NFC, bidi controls and invisibles stripped, controls and lone surrogates refused (issue 10)', () => {
  const name = (n: string) => methods.join.params.safeParse({ protocolVersion: 1, name: n });
  const clean = (n: string) => {
    const r = name(n);
    assert.ok(r.success, `${JSON.stringify(n)} should be accepted`);
    return r.data.name;
  };
  // The override that shows "pay to exe.png" is gone; what is left reads as it is stored.
  assert.equal(clean('pay to \u202Egnp.exe'), 'pay to gnp.exe');
  for (const bidi of [
    '\u202A',
    '\u202B',
    '\u202C',
    '\u202D',
    '\u2066',
    '\u2067',
    '\u2068',
    '\u2069',
    '\u200E',
    '\u200F',
    '\u061C',
  ])
    assert.equal(clean(`An${bidi}na`), 'Anna', JSON.stringify(bidi));
  for (const invisible of [
    '\u200B',
    '\u200C',
    '\u200D',
    '\u2060',
    '\uFEFF',
    '\u3164',
    '\u115F',
    '\u1160',
    '\uFFA0',
    '\u00AD',
    '\u2800',
  ])
    assert.equal(clean(`Mo${invisible}derator`), 'Moderator', JSON.stringify(invisible));
  // NFC: a decomposed "ü" is stored as the composed one, so equal-looking names are equal strings.
  assert.equal(clean('Mu\u0308ller'), 'Müller');
  assert.equal(clean('  Anna   \u3000 Lena '), 'Anna Lena');
  // Nothing but invisibles is no name.
  for (const empty of ['\u200B', '\u3164', '\u3164\u3164 \u200B', '\u202E', '\u2800'])
    assert.equal(name(empty).success, false, JSON.stringify(empty));
  // Control characters (C0, DEL, C1) and lone surrogates are refused, not cleaned.
  for (const bad of ['a\u0000b', 'a\nb', 'a\u007Fb', 'a\u0085b', 'a\u009Bb', 'a\uD800b', 'a\uDC00b', '\uD83D'])
    assert.equal(name(bad).success, false, JSON.stringify(bad));
  // Valid pairs stay: emoji are fine.
  assert.equal(clean('Lena 🎉'), 'Lena 🎉');
  assert.equal(clean('x'.repeat(64)), 'x'.repeat(64));
  assert.equal(name('x'.repeat(65)).success, false);
});

test('chat text: line breaks and tabs kept, bidi controls stripped, other controls refused', () => {
  const chat = (text: string) => methods.chat.params.safeParse({ text });
  assert.equal(chat('line one\n\tline two').data?.text, 'line one\n\tline two');
  assert.equal(chat('open \u202Egnp.exe please').data?.text, 'open gnp.exe please');
  assert.equal(chat('zero\u200Bwidth\uFEFF').data?.text, 'zerowidth');
  // Emoji sequences keep their joiners and variation selectors.
  assert.equal(chat('👩\u200D💻 ❤\uFE0F').data?.text, '👩\u200D💻 ❤\uFE0F');
  assert.equal(chat('Cafe\u0301').data?.text, 'Café');
  for (const bad of ['', '\u200B', '\u202E', 'a\u0000', 'a\rb', 'a\u0085', 'a\uDFFF', 'x'.repeat(2001)])
    assert.equal(chat(bad).success, false, JSON.stringify(bad));
});

test('participant info and lobby entries say whether the name is verified', () => {
  const info = { id: 'p', name: 'A', role: 'participant', handRaised: false, producers: [] };
  assert.equal(events.participantJoined.safeParse({ participant: info }).success, false, 'verified is required');
  assert.ok(events.participantJoined.safeParse({ participant: { ...info, verified: true } }).success);
  assert.ok(events.lobbyChanged.safeParse({ waiting: [{ id: 'g', name: 'G', verified: false }] }).success);
  assert.equal(nameKey('ＡＮＮＡ'), nameKey('anna'));
});

test('make-before-break: mediaMoveDone takes nothing; mediaMoved with keepOld carries staying and keepOldMs', () => {
  assert.ok(methods.mediaMoveDone.params.safeParse({}).success);
  assert.ok(!methods.mediaMoveDone.params.safeParse({ nodeId: 'a' }).success, 'nothing else');
  const caps = { codecs: [], headerExtensions: [] };
  assert.ok(events.mediaMoved.safeParse({ reason: 'nodeFailed', routerRtpCapabilities: caps }).success);
  assert.ok(
    events.mediaMoved.safeParse({
      reason: 'nodeDraining',
      routerRtpCapabilities: caps,
      keepOld: true,
      staying: ['p1'],
      keepOldMs: 15_000,
    }).success,
  );
  for (const bad of [{ keepOld: false }, { staying: ['p1'], keepOld: true, keepOldMs: -1 }, { staying: [''] }])
    assert.ok(
      !events.mediaMoved.safeParse({ reason: 'nodeDraining', routerRtpCapabilities: caps, ...bad }).success,
      JSON.stringify(bad),
    );
  assert.ok(events.oldMediaClosed.safeParse({}).success);
});
