/**
 * Control calls over the node link (issue 14, "fewer round trips"): with a real media node, its mediasoup
 * worker and the Node edge, the calls of a meeting travel over the node's link, not as HTTP requests
 * (treffpunkt_edge_node_calls_total by `via`), and the meeting works: a participant receives another's
 * Opus through real ICE/DTLS/SRTP. A node killed (kill -9) while a call waits for it fails that call at
 * once as `unreachable` (its link closed), and the room moves its participant. With links off
 * (TREFFPUNKT_NODE_LINK_SILENCE_MS=0) or TREFFPUNKT_NODE_CONTROL=http the same meeting goes over HTTP.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { waitFor } from '../support/poll.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { freePortBlock, startStack, type Stack, type StackNode } from '../support/stack.ts';
import { ffmpegOpus, opusPayloadType, publishAudio, receiveAudio } from '../support/werift-peer.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol-version.ts';

/** Heartbeats and link silence cannot explain anything within the tests' bounds. */
const SLOW = { TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS: '60000', TREFFPUNKT_RESUME_GRACE_MS: '5000' };

interface Call {
  op: string;
  node: string;
  outcome: string;
  via: string;
  count: number;
}

async function startWithMetrics(
  t: { after(fn: () => Promise<void>): void },
  edgeEnv: Record<string, string>,
  nodes = [{ nodeId: 'node-a', region: 'north' }],
) {
  const metricsPort = await freePortBlock(1);
  const stack = await startStack({
    nodes,
    edgeEnv: { ...SLOW, TREFFPUNKT_METRICS_ADDR: `127.0.0.1:${metricsPort}`, ...edgeEnv },
  });
  t.after(() => stack.stop());
  /** treffpunkt_edge_node_calls_total, one entry per label set. */
  const calls = async (): Promise<Call[]> => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    return [...text.matchAll(/^treffpunkt_edge_node_calls_total\{([^}]*)\} (\d+)/gm)].map((m) => {
      const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
      return { op: labels.op!, node: labels.node!, outcome: labels.outcome!, via: labels.via!, count: Number(m[2]) };
    });
  };
  const count = async (match: Partial<Call>) =>
    (await calls())
      .filter((c) => Object.entries(match).every(([k, v]) => c[k as keyof Call] === v))
      .reduce((n, c) => n + c.count, 0);
  return { stack, calls, count };
}

function linksOpened(stack: Stack, nodeId: string): number {
  return stack.output().match(new RegExp(`"node":"${nodeId}"[^\\n]*node link to the edge open`, 'g'))?.length ?? 0;
}

/** A meeting of two: Alice publishes Opus (real ICE/DTLS/SRTP), Bob consumes it; resolves once Bob got RTP. */
async function meeting(stack: Stack, room: string) {
  const alice = await SignalingClient.connect(stack.wsUrl(room));
  const bob = await SignalingClient.connect(stack.wsUrl(room));
  try {
    const joined = await alice.join('Alice');
    await bob.join('Bob');
    const pt = opusPayloadType(joined.routerRtpCapabilities);
    const pub = await publishAudio(alice, pt);
    const sub = await receiveAudio(bob, pt, pub.producerId);
    const stop = new AbortController();
    const media = ffmpegOpus(pt, 10, pub.writeRtp, stop.signal);
    await waitFor('Bob to receive Alice', () => sub.received.packets > 20);
    stop.abort();
    await media.catch(() => {});
    await Promise.all([pub.pc.close(), sub.pc.close()]);
  } finally {
    await Promise.all([alice.close(), bob.close()]);
  }
}

/** The ops a meeting of two needs from the node (each at least once). */
const MEETING_OPS = ['createTransport', 'connectTransport', 'produce', 'consume', 'resumeConsumer'];

/**
 * Bytes waiting unread in the receive queues of `pid`'s TCP connections to `port` (/proc/net/tcp): what a
 * stopped process has been sent and not read yet.
 */
function unreadBytesTo(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // Closed meanwhile.
    }
  }
  let unread = 0;
  for (const line of readFileSync(`/proc/${pid}/net/tcp`, 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !inodes.has(f[9]!)) continue;
    if (Number.parseInt(f[2]!.split(':')[1]!, 16) !== port) continue;
    unread += Number.parseInt(f[4]!.split(':')[1]!, 16);
  }
  return unread;
}

describe('control calls over the node link, Node edge', () => {
  test('a meeting: every control call goes over the link, none over HTTP, and the media flows', async (t) => {
    const { stack, calls, count } = await startWithMetrics(t, {});
    await waitFor('the node link', () => linksOpened(stack, 'node-a') >= 1);
    await meeting(stack, 'link-calls-meeting');
    for (const op of MEETING_OPS)
      assert.ok((await count({ op, via: 'link', outcome: 'ok' })) >= 1, `${op} went over the link`);
    assert.equal(await count({ via: 'http' }), 0, `no call over HTTP: ${JSON.stringify(await calls())}`);
    assert.equal(await count({ outcome: 'unreachable' }), 0);
    assert.match(stack.output(), /"nodeControl":"link"[^\n]*media node control calls/);
  });

  test('kill -9 while a call waits on the link: the call fails as unreachable, the room moves its participant', async (t) => {
    // A silence bound of a minute: only the link's close can end the waiting call before its deadline.
    const { stack, count } = await startWithMetrics(t, { TREFFPUNKT_NODE_LINK_SILENCE_MS: '60000' }, [
      { nodeId: 'node-a', region: 'north' },
      { nodeId: 'node-b', region: 'south' },
    ]);
    await waitFor('both links', () => linksOpened(stack, 'node-a') >= 1 && linksOpened(stack, 'node-b') >= 1);
    const [a] = stack.mediaNodes as [StackNode];
    const edgePort = Number(new URL(stack.edgeUrl).port);
    const alice = await SignalingClient.connect(stack.wsUrl('link-calls-kill'));
    try {
      await alice.request('join', { protocolVersion: PROTOCOL_VERSION, name: 'Alice', region: 'north' });
      await alice.request('createTransport', { direction: 'send' });
      assert.equal(await count({ op: 'createTransport', node: 'node-a', via: 'link', outcome: 'ok' }), 1);

      // Frozen, node-a cannot answer: the next call's frame waits, unread, in its socket to the edge.
      a.process.kill('SIGSTOP');
      const pending = alice.call('createTransport', { direction: 'recv' });
      await waitFor('the call frame to reach the frozen node', () => unreadBytesTo(a.process.pid!, edgePort) > 0);
      const killedAt = Date.now();
      a.process.kill('SIGKILL');
      const reply = await pending;
      console.log(`kill -9 → the waiting call failed ${Date.now() - killedAt} ms later (deadline 5 s)`);
      assert.equal(reply.ok, false, 'the call to the killed node failed');
      assert.equal(
        await count({ op: 'createTransport', node: 'node-a', via: 'link', outcome: 'unreachable' }),
        1,
        'counted as unreachable, over the link',
      );
      // The room finds node-a lost and moves Alice to node-b, whose calls go over its own link.
      const moved = await alice.waitForEvent<{ reason: string }>('mediaMoved');
      assert.equal(moved.reason, 'nodeFailed');
      await alice.request('createTransport', { direction: 'send' });
      assert.equal(await count({ op: 'createTransport', node: 'node-b', via: 'link', outcome: 'ok' }), 1);
      assert.equal(await count({ via: 'http', outcome: 'ok' }), 0, 'nothing went over HTTP successfully');
    } finally {
      await alice.close();
    }
  });

  for (const [what, env] of [
    ['node links off (TREFFPUNKT_NODE_LINK_SILENCE_MS=0)', { TREFFPUNKT_NODE_LINK_SILENCE_MS: '0' }],
    ['TREFFPUNKT_NODE_CONTROL=http', { TREFFPUNKT_NODE_CONTROL: 'http' }],
  ] as const)
    test(`${what}: the same meeting, every control call over HTTP`, async (t) => {
      const { stack, calls, count } = await startWithMetrics(t, env);
      if (env.TREFFPUNKT_NODE_CONTROL) await waitFor('the node link', () => linksOpened(stack, 'node-a') >= 1);
      await meeting(stack, 'http-calls-meeting');
      for (const op of MEETING_OPS)
        assert.ok((await count({ op, via: 'http', outcome: 'ok' })) >= 1, `${op} went over HTTP`);
      assert.equal(await count({ via: 'link' }), 0, `no call over the link: ${JSON.stringify(await calls())}`);
      assert.match(stack.output(), /"nodeControl":"http"[^\n]*media node control calls/);
    });
});
