/**
 * "Which node failed whom" (issue 13): when media fails in the browser even through the relay, the app
 * sends `reportMediaFailure`, and the edge logs one `mediaFailed` warn line naming the room, the
 * participant (by id, never by name) and its media node with the region and address it announced. At
 * most one line per participant a minute; malformed reports get BAD_MESSAGE and the room keeps working.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../shared/errors.ts';
import { waitFor } from '../support/poll.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { EDGE_RUNTIMES, startStack } from '../support/stack.ts';

const room = 'media-failure-report';

for (const runtime of EDGE_RUNTIMES)
  test(`${runtime} edge: a media failure report becomes one mediaFailed line naming the node and the participant`, async (t) => {
    const stack = await startStack({ runtime, nodes: [{ nodeId: 'report-node', region: 'eu-test' }] });
    t.after(() => stack.stop());
    const names = ['Quillon Mediafail', 'Ottilie Blockwerk'];
    const lines = (participant?: string) =>
      stack
        .output()
        .split('\n')
        .filter((l) => l.includes('"event":"mediaFailed"')) // only the edge logs it
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => participant === undefined || l.participant === participant);

    const stranger = await SignalingClient.connect(stack.wsUrl(room));
    t.after(() => stranger.close());
    const report = { transports: [], paths: [], tried: [] };
    const notJoined = await stranger.call('reportMediaFailure', report);
    assert.equal(!notJoined.ok && notJoined.error.code, ErrorCode.NotJoined);

    const a = await SignalingClient.connect(stack.wsUrl(room));
    t.after(() => a.close());
    const { participantId } = await a.join(names[0]!);
    const send = await a.request('createTransport', { direction: 'send' });
    const reply = await a.call('reportMediaFailure', {
      transports: [
        { direction: 'send', transportId: send.id, policy: 'relay' },
        { direction: 'recv', transportId: 'not-a-transport-of-mine', policy: 'relay' },
      ],
      paths: ['udp', 'tcp', 'turn-udp', 'turn-tls'],
      tried: ['send transport (relay only): failed', '  gathered here: host/udp', '  host/udp → host/udp: failed'],
    });
    assert.deepEqual(reply, { id: (reply as { id: number }).id, ok: true, result: {} });
    const line = await waitFor('the mediaFailed line', () => lines(participantId)[0]);
    assert.ok(line!.level === 40 || line!.level === 'warn', 'warn (pino on Node, the Worker logger on workerd)');
    assert.equal(line!.room, room);
    assert.equal(line!.node, 'report-node');
    assert.equal(line!.region, 'eu-test');
    assert.equal(typeof line!.address, 'string', 'the media address the node announced');
    assert.deepEqual(line!.transports, [
      { direction: 'send', policy: 'relay', transportId: send.id },
      { direction: 'recv', policy: 'relay' },
    ]);
    assert.deepEqual(line!.paths, ['udp', 'tcp', 'turn-udp', 'turn-tls']);
    assert.equal((line!.tried as string[]).length, 3);
    assert.equal(line!.suppressed, undefined);

    // Malformed reports: BAD_MESSAGE, each.
    const bad: unknown[] = [
      { ...report, extra: true },
      { transports: [], paths: ['carrier-pigeon'], tried: [] },
      { transports: [], paths: [], tried: ['a\u0000b'] },
      { transports: [], paths: [], tried: ['x'.repeat(201)] },
      { transports: [], paths: [], tried: Array.from({ length: 25 }, () => 'x') },
      { transports: Array.from({ length: 5 }, () => ({ direction: 'send', policy: 'relay' })), paths: [], tried: [] },
      { transports: [{ direction: 'sideways', policy: 'relay' }], paths: [], tried: [] },
      { transports: [], paths: [] },
      null,
    ];
    for (const params of bad) {
      const r = await a.call('reportMediaFailure', params as Record<string, unknown>);
      assert.equal(!r.ok && r.error.code, ErrorCode.BadMessage, JSON.stringify(params));
    }
    // Within the minute: answered, but counted, not logged.
    assert.ok((await a.call('reportMediaFailure', report)).ok);
    assert.ok((await a.call('reportMediaFailure', report)).ok);

    // Another participant is not held back by the first one's limit. Its line comes after anything the
    // first one's reports could have written (one process, one stream), so the count below is final.
    const b = await SignalingClient.connect(stack.wsUrl(room));
    t.after(() => b.close());
    const other = await b.join(names[1]!);
    assert.ok((await b.call('reportMediaFailure', report)).ok);
    await waitFor('the second participant’s line', () => lines(other.participantId).length > 0);
    assert.equal(lines(participantId).length, 1, 'one line per participant per minute');
    assert.equal(lines().length, 2);
    assert.equal((await a.request('ping', {})).time > 0, true, 'the room keeps working');
    for (const name of names) assert.doesNotMatch(stack.output(), new RegExp(name), 'no display name in the log');
  });
