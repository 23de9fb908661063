/**
 * Control calls on the node link (issue 14): the call frames' schemas and bounds (shared/node-link.ts),
 * the edge's multiplexer (edge/core/link-calls.ts: ids, answers out of order, answers to no call,
 * aborts, close), NodeLinks handing out a link's calls only when the node serves them, the media node
 * client's choice of the link and its checks of what comes back (edge/core/media-node-client.ts), and the
 * node's serving of a call frame (media-node/link-call-answer.ts, control-calls.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinkCalls, type LinkCallAnswer } from '../../edge/core/link-calls.ts';
import { MediaNodeClient, NodeUnreachableError } from '../../edge/core/media-node-client.ts';
import { type EdgeMetrics, noMetrics } from '../../edge/core/metrics.ts';
import { NodeLinks } from '../../edge/core/node-links.ts';
import { ControlCalls, type ControlHandlers } from '../../media-node/control-calls.ts';
import { answerBadCallFrame, answerLinkCall } from '../../media-node/link-call-answer.ts';
import { ErrorCode, type TreffpunktError } from '../../shared/errors.ts';
import {
  EdgeLinkMessage,
  hasLinkFeature,
  type LinkCall,
  LINK_CONTROL_CALLS,
  MAX_LINK_CALL_BYTES,
  MAX_LINK_MESSAGE_BYTES,
  NodeLinkMessage,
  parseLinkFrame,
} from '../../shared/node-link.ts';
import { fakeLinkSocket } from '../support/fake-link-socket.ts';

const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;
const never = new AbortController().signal;

test('call frames: the schemas take calls and their answers, large ones up to their own bound only', () => {
  const edge = (v: unknown) => parseLinkFrame(EdgeLinkMessage, JSON.stringify(v));
  const node = (v: unknown) => parseLinkFrame(NodeLinkMessage, JSON.stringify(v));
  const call = { type: 'call', id: 1, op: 'connectTransport', ids: { room: 'r', transportId: 't' }, body: {} };
  assert.deepEqual(edge(call), call);
  assert.deepEqual(node({ type: 'result', id: 1, response: { a: 1 } }), { type: 'result', id: 1, response: { a: 1 } });
  const error = { type: 'error', id: 2, error: { code: 'NOT_FOUND', message: 'no' } };
  assert.deepEqual(node(error), error);
  for (const bad of [
    { ...call, id: -1 },
    { ...call, id: 1.5 },
    { ...call, op: '' },
    { ...call, ids: { room: 1 } },
    { ...call, ids: { a: 'a', b: 'b', c: 'c', d: 'd', e: 'e' } },
    { ...call, extra: true },
    { type: 'call', op: 'x', ids: {}, body: {} },
  ])
    assert.equal(edge(bad), undefined, `edge → node ${JSON.stringify(bad)}`);
  for (const bad of [
    { type: 'result', response: {} },
    { type: 'result', id: '1', response: {} },
    { type: 'result', id: 1, response: {}, more: 1 },
    { type: 'error', id: 1, error: {}, more: 1 },
    call,
  ])
    assert.equal(node(bad), undefined, `node → edge ${JSON.stringify(bad)}`);

  // Router capabilities are a few KiB: an answer over the small bound is fine, a ping that size is not.
  const large = 'x'.repeat(8 * 1024);
  assert.ok(node({ type: 'result', id: 3, response: { pad: large } }), 'an 8 KiB answer');
  assert.ok(edge({ ...call, body: { pad: large } }), 'an 8 KiB call');
  assert.equal(parseLinkFrame(NodeLinkMessage, `{"type":"ping","seq":1,"pad":"${large}"}`), undefined);
  assert.equal(
    parseLinkFrame(NodeLinkMessage, `{"type":"ping","seq":1}${' '.repeat(MAX_LINK_MESSAGE_BYTES)}`),
    undefined,
  );
  const huge = JSON.stringify({ type: 'result', id: 4, response: { pad: 'x'.repeat(MAX_LINK_CALL_BYTES) } });
  assert.equal(parseLinkFrame(NodeLinkMessage, huge), undefined, 'over MAX_LINK_CALL_BYTES');
  assert.equal(parseLinkFrame(NodeLinkMessage, '{"type":"result","id":1,'), undefined, 'not JSON');
  assert.equal(parseLinkFrame(NodeLinkMessage, `"${large}"`), undefined, 'a large JSON string');

  assert.equal(hasLinkFeature(`other, ${LINK_CONTROL_CALLS}`, LINK_CONTROL_CALLS), true);
  assert.equal(hasLinkFeature('control-calls-v2', LINK_CONTROL_CALLS), false);
  assert.equal(hasLinkFeature(undefined, LINK_CONTROL_CALLS), false);
});

/** A multiplexer whose frames are recorded (parsed), and a way to answer them as the node would. */
function recordedCalls() {
  const sent: LinkCall[] = [];
  const calls = new LinkCalls((text) => {
    const msg = parseLinkFrame(EdgeLinkMessage, text);
    assert.equal(msg?.type, 'call', 'the edge sends valid call frames');
    sent.push(msg as LinkCall);
  });
  return { calls, sent };
}

test('the multiplexer: a number per call, answers matched by number in any order, unknown numbers ignored', async () => {
  const { calls, sent } = recordedCalls();
  const first = calls.call('ensureRouter', { room: 'r' }, {}, never)!;
  const second = calls.call('closeRoom', { room: 'r' }, {}, never)!;
  assert.equal(calls.inFlight, 2);
  const [a, b] = sent as [LinkCall, LinkCall];
  assert.notEqual(a.id, b.id);
  assert.deepEqual([a.op, a.ids, a.body], ['ensureRouter', { room: 'r' }, {}]);
  assert.equal(calls.answer({ type: 'error', id: b.id, error: { code: 'NOT_FOUND', message: 'x' } }), true);
  assert.equal(calls.answer({ type: 'result', id: 999, response: {} }), false, 'no call has that number');
  assert.equal(calls.answer({ type: 'result', id: a.id, response: { ok: 1 } }), true);
  assert.equal(calls.answer({ type: 'result', id: a.id, response: { again: 1 } }), false, 'answered once only');
  assert.deepEqual(await first, { ok: true, response: { ok: 1 } } satisfies LinkCallAnswer);
  assert.deepEqual(await second, { ok: false, error: { code: 'NOT_FOUND', message: 'x' } } satisfies LinkCallAnswer);
  assert.equal(calls.inFlight, 0);
});

test('the multiplexer: an aborted call (deadline, node lost) ends with its reason, its late answer is ignored', async () => {
  const { calls, sent } = recordedCalls();
  const stop = new AbortController();
  const call = calls.call('ensureRouter', { room: 'r' }, {}, stop.signal)!;
  stop.abort(new Error('timed out'));
  await assert.rejects(call, /timed out/);
  assert.equal(calls.inFlight, 0);
  assert.equal(calls.answer({ type: 'result', id: sent[0]!.id, response: {} }), false);
  const already = AbortSignal.abort(new Error('the node was found lost'));
  await assert.rejects(calls.call('ensureRouter', { room: 'r' }, {}, already)!, /found lost/);
  assert.equal(calls.inFlight, 0);
});

test('the multiplexer: a close fails every call in flight at once; later calls are not sent (HTTP then)', async () => {
  const { calls, sent } = recordedCalls();
  const inFlight = [1, 2, 3].map((i) => calls.call('closeRoom', { room: `r${i}` }, {}, never)!);
  calls.close('closed');
  for (const c of inFlight) await assert.rejects(c, /the node link closed: closed/);
  assert.equal(calls.inFlight, 0);
  assert.equal(calls.call('closeRoom', { room: 'r' }, {}, never), undefined, 'nothing sent on a closed link');
  assert.equal(sent.length, 3);
});

test('the multiplexer: a call too large for a frame is not sent; a socket that throws fails the call', async () => {
  const { calls, sent } = recordedCalls();
  assert.equal(calls.call('consume', { room: 'r' }, { pad: 'x'.repeat(MAX_LINK_CALL_BYTES) }, never), undefined);
  // Counted in UTF-8 bytes, as the node's socket counts them: fewer characters than the bound, more bytes.
  assert.equal(
    calls.call('consume', { room: 'r' }, { pad: 'ü'.repeat(MAX_LINK_CALL_BYTES / 2 + 16) }, never),
    undefined,
  );
  const fits = calls.call('consume', { room: 'r' }, { pad: 'ü'.repeat(MAX_LINK_CALL_BYTES / 2 - 1024) }, never);
  assert.ok(fits, 'a frame just under the bound in bytes is sent');
  calls.close('done');
  await assert.rejects(fits);
  assert.equal(sent.length, 1);
  const broken = new LinkCalls(() => {
    throw new Error('socket closing');
  });
  await assert.rejects(broken.call('closeRoom', { room: 'r' }, {}, never)!, /refused the call/);
  assert.equal(broken.inFlight, 0);
});

const linkSocket = fakeLinkSocket;
const nodeLinks = () =>
  new NodeLinks({ silenceMs: 60_000, probe: async () => true, lose: async () => {}, log: silent });

test('NodeLinks: a link carries calls only when its node serves them; answers reach them; a close fails them', async () => {
  const links = nodeLinks();
  links.open('plain', linkSocket().socket);
  assert.equal(links.calls('plain'), undefined, 'a node that did not say it serves calls');
  assert.equal(links.calls('unknown'), undefined);

  const a = linkSocket();
  const ha = links.open('a', a.socket, { controlCalls: true });
  const call = links.calls('a')!.call('ensureRouter', { room: 'r' }, {}, never)!;
  const frame = a.sent.at(-1) as LinkCall;
  assert.equal(frame.type, 'call');
  ha.message(JSON.stringify({ type: 'result', id: frame.id, response: { rtpCapabilities: {} } }));
  assert.deepEqual(await call, { ok: true, response: { rtpCapabilities: {} } });
  ha.message(JSON.stringify({ type: 'result', id: 12345, response: {} }));
  assert.equal(a.closed(), undefined, 'an answer to no call is ignored, the link stays');

  // The node's socket closes (kill -9): the call in flight fails now, and the link carries no more calls.
  const waiting = links.calls('a')!.call('closeRoom', { room: 'r' }, {}, never)!;
  ha.closed();
  await assert.rejects(waiting, /the node link closed/);
  assert.equal(links.calls('a'), undefined);

  // A frame that is not the protocol: the edge closes the link (1008), and its calls fail at once.
  const b = linkSocket();
  const hb = links.open('b', b.socket, { controlCalls: true });
  const cut = links.calls('b')!.call('closeRoom', { room: 'r' }, {}, never)!;
  hb.message('{"type":"result"}');
  assert.equal(b.closed(), 1008);
  await assert.rejects(cut, /not a link message/);

  // A newer link replaces the older one: the older one's calls fail, the newer one carries the next.
  const c1 = linkSocket();
  links.open('c', c1.socket, { controlCalls: true });
  const old = links.calls('c')!.call('closeRoom', { room: 'r' }, {}, never)!;
  const c2 = linkSocket();
  links.open('c', c2.socket, { controlCalls: true });
  await assert.rejects(old, /replaced/);
  const next = links.calls('c')!.call('closeRoom', { room: 'r' }, {}, never)!;
  assert.equal((c2.sent.at(-1) as LinkCall).type, 'call');

  // Large frames only where calls are carried: on a link without them, one closes the link.
  const p = linkSocket();
  const hp = links.open('p', p.socket);
  hp.message(JSON.stringify({ type: 'result', id: 1, response: { pad: 'x'.repeat(2 * MAX_LINK_MESSAGE_BYTES) } }));
  assert.equal(p.closed(), 1008);
  // The edge stops: what is still in flight fails.
  links.stop();
  await assert.rejects(next, /the edge is stopping/);
});

/** Metrics that record each control call. */
function recordedMetrics() {
  const seen: { op: string; outcome: string; via: string }[] = [];
  const metrics: EdgeMetrics = {
    ...noMetrics,
    nodeCall: (op, _node, outcome, _s, via) => seen.push({ op, outcome, via }),
  };
  return { metrics, seen };
}

/** A client over a link whose node answers each call with `answer` (or never, for undefined). */
function clientOverLink(answer: (call: LinkCall) => object | undefined, http = 'http://127.0.0.1:9') {
  const { metrics, seen } = recordedMetrics();
  let calls: LinkCalls | undefined;
  calls = new LinkCalls((text) => {
    const call = parseLinkFrame(EdgeLinkMessage, text) as LinkCall;
    const reply = answer(call);
    if (reply) queueMicrotask(() => calls?.answer({ id: call.id, ...reply } as never));
  });
  const client = new MediaNodeClient({
    nodeId: 'n',
    controlUrl: http,
    secret: 's'.repeat(32),
    metrics,
    link: () => calls,
  });
  return { client, seen, links: () => calls!, drop: () => (calls = undefined) };
}

test('the client: over the link, answers are checked by the control schemas as over HTTP', async () => {
  const caps = { codecs: [], headerExtensions: [] };
  const { client, seen } = clientOverLink((call) =>
    call.ids.room === 'bad'
      ? { type: 'result', response: { rtpCapabilities: 'not capabilities' } }
      : call.ids.room === 'refused'
        ? { type: 'error', error: { code: ErrorCode.NotFound, message: 'no such room' } }
        : call.ids.room === 'internal'
          ? { type: 'error', error: { code: ErrorCode.Internal, message: 'a secret detail' } }
          : call.ids.room === 'garbage'
            ? { type: 'error', error: 'no shape' }
            : { type: 'result', response: { rtpCapabilities: caps } },
  );
  assert.deepEqual(await client.call('ensureRouter', { room: 'r' }, {}), { rtpCapabilities: caps });
  await assert.rejects(client.call('ensureRouter', { room: 'bad' }, {}), /sent an invalid ensureRouter response/);
  await assert.rejects(
    client.call('ensureRouter', { room: 'refused' }, {}),
    (err: TreffpunktError) => err.code === ErrorCode.NotFound && err.message === 'no such room',
  );
  for (const room of ['internal', 'garbage'])
    await assert.rejects(
      client.call('ensureRouter', { room }, {}),
      (err: TreffpunktError) =>
        err.code === ErrorCode.MediaNodeError && /failed \(ensureRouter, over the node link\)/.test(err.message),
    );
  // A body the schema refuses is never sent.
  await assert.rejects(client.call('setProducerPaused', { room: 'r', producerId: 'p' }, { paused: 'no' } as never));
  assert.deepEqual(
    seen.map((s) => `${s.outcome} ${s.via}`),
    [
      'ok link',
      'MEDIA_NODE_ERROR link',
      'NOT_FOUND link',
      'MEDIA_NODE_ERROR link',
      'MEDIA_NODE_ERROR link',
      'error link',
    ],
  );
});

test('the client: a link that closes fails its call as unreachable; the room abort too; no link: HTTP', async () => {
  const { client, seen, links, drop } = clientOverLink(() => undefined);
  const waiting = client.call('closeRoom', { room: 'r' }, {});
  links().close('closed');
  await assert.rejects(waiting, NodeUnreachableError);
  assert.deepEqual(seen.at(-1), { op: 'closeRoom', outcome: 'unreachable', via: 'link' });

  const abort = new AbortController();
  const aborted = new MediaNodeClient({
    nodeId: 'n',
    controlUrl: 'http://127.0.0.1:9',
    secret: 's'.repeat(32),
    abort: abort.signal,
    link: () => new LinkCalls(() => {}),
  }).call('closeRoom', { room: 'r' }, {});
  abort.abort();
  await assert.rejects(aborted, NodeUnreachableError);

  // No link (the node's link closed, or is on another edge): the same call goes over HTTP (port 9: refused).
  drop();
  await assert.rejects(client.call('closeRoom', { room: 'r' }, {}), NodeUnreachableError);
  assert.deepEqual(seen.at(-1), { op: 'closeRoom', outcome: 'unreachable', via: 'http' });
});

/** Handlers that answer what they were given, and throw like mediasoup for the room named `mediasoup`. */
function echoHandlers(): ControlHandlers {
  return new Proxy({} as ControlHandlers, {
    get: () => async (ids: Record<string, string>, body: unknown) => {
      if (ids.room === 'mediasoup') throw new TypeError('invalid rtpParameters');
      if (ids.room === 'crash') throw new Error('at secret/internal/path.ts:12');
      return { ids, body };
    },
  });
}

test('the node: a call frame runs the same checks as its HTTP control API, and always gets an answer', async () => {
  const calls = new ControlCalls(echoHandlers(), silent);
  const answer = async (call: Omit<LinkCall, 'type' | 'id'>) =>
    parseLinkFrame(NodeLinkMessage, await answerLinkCall(calls, { type: 'call', id: 7, ...call }));
  assert.deepEqual(
    await answer({
      op: 'connectTransport',
      ids: { room: 'r', transportId: 't' },
      body: { dtlsParameters: { fingerprints: [{ algorithm: 'sha-256', value: 'AA' }] } },
    }),
    {
      type: 'result',
      id: 7,
      response: {
        ids: { room: 'r', transportId: 't' },
        body: { dtlsParameters: { fingerprints: [{ algorithm: 'sha-256', value: 'AA' }] } },
      },
    },
  );
  const codeOf = async (call: Omit<LinkCall, 'type' | 'id'>) => {
    const msg = await answer(call);
    assert.equal(msg?.type, 'error', JSON.stringify(msg));
    return (msg as { error: { code: string; message: string } }).error;
  };
  assert.equal((await codeOf({ op: 'teleport', ids: { room: 'r' }, body: {} })).code, ErrorCode.NotFound);
  assert.equal((await codeOf({ op: 'closeRoom', ids: { room: '../x' }, body: {} })).code, ErrorCode.BadMessage);
  assert.equal((await codeOf({ op: 'closeRoom', ids: {}, body: {} })).code, ErrorCode.BadMessage);
  assert.equal((await codeOf({ op: 'resumeConsumer', ids: { room: 'r' }, body: {} })).message, 'missing consumerId');
  assert.match(
    (await codeOf({ op: 'closeRoom', ids: { room: 'r' }, body: { x: 1 } })).message,
    /invalid closeRoom body/,
  );
  assert.deepEqual(await codeOf({ op: 'closeRoom', ids: { room: 'mediasoup' }, body: {} }), {
    code: ErrorCode.MediaNodeError,
    message: 'invalid rtpParameters',
  });
  assert.deepEqual(await codeOf({ op: 'closeRoom', ids: { room: 'crash' }, body: {} }), {
    code: ErrorCode.MediaNodeError,
    message: 'media operation failed',
  });
  // A node that does not serve calls on its link still answers, as does a frame with only a readable number.
  const none = parseLinkFrame(
    NodeLinkMessage,
    await answerLinkCall(undefined, { type: 'call', id: 8, op: 'closeRoom', ids: {}, body: {} }),
  );
  assert.equal((none as { error: { code: string } }).error.code, ErrorCode.NotFound);
  const bad = parseLinkFrame(NodeLinkMessage, answerBadCallFrame('{"type":"call","id":9,"op":5}')!);
  assert.deepEqual(bad, {
    type: 'error',
    id: 9,
    error: { code: ErrorCode.BadMessage, message: 'not a valid call frame' },
  });
  assert.equal(answerBadCallFrame('{"type":"call"}'), undefined);
  assert.equal(answerBadCallFrame('nonsense'), undefined);
});

test('the node: an answer too large for the link fails that call alone', async () => {
  const big: ControlHandlers = new Proxy({} as ControlHandlers, {
    get: () => async () => ({ pad: 'x'.repeat(MAX_LINK_CALL_BYTES) }),
  });
  const text = await answerLinkCall(new ControlCalls(big, silent), {
    type: 'call',
    id: 1,
    op: 'closeRoom',
    ids: { room: 'r' },
    body: {},
  });
  assert.ok(text.length <= MAX_LINK_MESSAGE_BYTES);
  assert.deepEqual(parseLinkFrame(NodeLinkMessage, text), {
    type: 'error',
    id: 1,
    error: { code: ErrorCode.MediaNodeError, message: 'the answer does not fit the node link' },
  });
});

test('NodeLinks: once the node says it closes its link, new calls go elsewhere and those in flight are still answered', async () => {
  const links = nodeLinks();
  const a = linkSocket();
  const ha = links.open('a', a.socket, { controlCalls: true });
  const inFlight = links.calls('a')!.call('closeRoom', { room: 'r' }, {}, never)!;
  const { id } = a.sent.at(-1) as LinkCall;
  ha.message(JSON.stringify({ type: 'stopping', reason: 'edge switch' }));
  assert.equal(links.calls('a'), undefined, 'no new call on a link that is closing');
  ha.message(JSON.stringify({ type: 'result', id, response: {} }));
  assert.deepEqual(await inFlight, { ok: true, response: {} });
  ha.closed();
  links.stop();
});

/** An edge's end of a link, for the node's EdgeLink: records the upgrade's headers and what the node sends. */
async function fakeEdge() {
  const { WebSocketServer } = await import('ws');
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => server.once('listening', () => r()));
  const received: unknown[] = [];
  const upgrades: Record<string, string | string[] | undefined>[] = [];
  let socket: import('ws').WebSocket | undefined;
  let closed = false;
  server.on('connection', (ws, req) => {
    upgrades.push(req.headers);
    socket = ws;
    ws.on('message', (data) => received.push(JSON.parse(String(data))));
    ws.on('close', () => (closed = true));
    ws.send(JSON.stringify({ type: 'hello', pingIntervalMs: 60_000 }));
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    upgrades,
    send: (msg: unknown) => socket?.send(JSON.stringify(msg)),
    open: () => socket !== undefined,
    closed: () => closed,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

test('the node: it offers calls at the upgrade, serves them, and a close on purpose waits for the answers', async () => {
  const { EdgeLink } = await import('../../media-node/edge-link.ts');
  const { waitFor } = await import('../support/poll.ts');
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const handlers = new Proxy({} as ControlHandlers, {
    get: () => async (ids: Record<string, string>) => {
      if (ids.room === 'slow') await held;
      return { room: ids.room };
    },
  });
  const edge = await fakeEdge();
  const other = await fakeEdge();
  const link = new EdgeLink({
    nodeId: 'n1',
    secret: 's'.repeat(32),
    log: silent,
    calls: new ControlCalls(handlers, silent),
  });
  try {
    link.connect(edge.url);
    await waitFor('the link', () => edge.open());
    assert.equal(edge.upgrades[0]!['x-treffpunkt-link-features'], LINK_CONTROL_CALLS);
    edge.send({ type: 'call', id: 1, op: 'closeRoom', ids: { room: 'fast' }, body: {} });
    edge.send({ type: 'call', id: 2, op: 'closeRoom', ids: { room: 'slow' }, body: {} });
    edge.send({ type: 'call', id: 3, op: 'closeRoom', ids: { room: 'x' }, body: 'not an object' });
    await waitFor('two answers', () => edge.received.length >= 2);
    // In any order: each call runs on its own, as HTTP requests do.
    const byId = (xs: unknown[]) => [...xs].sort((x, y) => (x as { id: number }).id - (y as { id: number }).id);
    assert.deepEqual(byId(edge.received.slice(0, 2)), [
      { type: 'result', id: 1, response: { room: 'fast' } },
      {
        type: 'error',
        id: 3,
        error: {
          code: ErrorCode.BadMessage,
          message: 'invalid closeRoom body: Invalid input: expected object, received string',
        },
      },
    ]);
    // The node moves to another edge while call 2 still runs: `stopping`, then the answer, then the close.
    link.connect(other.url);
    await waitFor('stopping', () => edge.received.length >= 3);
    assert.deepEqual(edge.received[2], { type: 'stopping', reason: 'edge switch' });
    assert.equal(edge.closed(), false, 'the link stays open for the answer');
    release();
    await waitFor('the close', () => edge.closed());
    assert.deepEqual(edge.received[3], { type: 'result', id: 2, response: { room: 'slow' } });
  } finally {
    await link.stop();
    await edge.close();
    await other.close();
  }
});
