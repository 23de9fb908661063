/**
 * Edge cluster benchmark (issue 12): measured, not asserted. Starts a 3-server NATS cluster, three Node
 * edges in cluster mode and two media nodes (test/support/edge-cluster.ts), plus a single-process Node
 * edge with its own media node (test/support/stack.ts) for comparison, all on loopback.
 *
 *   (a) join latency, WebSocket open → `join` reply and → first consumer ready (join, createTransport,
 *       connectTransport with a fake DTLS fingerprint, consume an audio producer, resumeConsumer), through
 *       the owner edge, a non-owner edge (relayed over NATS) and the single-process edge, interleaved in
 *       the same run;
 *   (b) requests per second one room sustains through a non-owner edge vs the owner (closed loop of
 *       `setHand`, which changes the room and saves its snapshot, and of `ping`, which does not);
 *   (c) edge kill → everyone resumed: the owner edge is killed (kill -9) with three participants in the
 *       room (one on each edge); the signaling gap is from the kill to the first answered request of each
 *       (the one on the dead edge reconnects to another edge and resumes; the others' sockets stay open
 *       and their requests wait for the takeover). Over several runs.
 *
 *   node test/bench/cluster.ts [--joins 40] [--clients 8] [--seconds 5] [--kills 5] [--lease 6000]
 *
 * Prints tables, then one line `BENCH_JSON {...}`. See docs/benchmarks.md.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { PROTOCOL_VERSION } from '../../shared/protocol-version.ts';
import { type ClusterEdge, type EdgeCluster, startEdgeCluster } from '../support/edge-cluster.ts';
import { waitFor } from '../support/poll.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { opusPayloadType, publishAudio } from '../support/werift-peer.ts';
import { BenchClient, latencyTable, machineInfo, positiveInt, runBenchmark, summarize } from './support.ts';

const { values: flags } = parseArgs({
  options: {
    joins: { type: 'string', default: '40' },
    clients: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '5' },
    kills: { type: 'string', default: '5' },
    lease: { type: 'string', default: '6000' },
  },
});
const JOINS = positiveInt('joins', flags.joins, 1);
const CLIENTS = positiveInt('clients', flags.clients, 1);
const SECONDS = positiveInt('seconds', flags.seconds, 1);
const KILLS = positiveInt('kills', flags.kills, 1);
const LEASE_MS = positiveInt('lease', flags.lease, 1000);

let cluster: EdgeCluster | undefined;
let single: Stack | undefined;

const fakeDtls = () => ({
  role: 'client' as const,
  fingerprints: [{ algorithm: 'sha-256', value: Array.from({ length: 32 }, () => 'AB').join(':') }],
});

/** open → joined and open → consumer ready for one newcomer; it leaves afterwards. */
async function joinAndConsume(url: string): Promise<{ joined: number; ready: number }> {
  const client = await BenchClient.open(url);
  const t0 = client.openedAt;
  const reply = await client.join();
  const joined = performance.now() - t0;
  const producerId = reply.participants.flatMap((p) => p.producers).find((p) => p.kind === 'audio')?.id;
  if (!producerId) throw new Error('no audio producer in the join reply');
  const pt = opusPayloadType(reply.routerRtpCapabilities);
  const transport = await client.request('createTransport', { direction: 'recv' });
  await client.request('connectTransport', { transportId: transport.id, dtlsParameters: fakeDtls() });
  const consumer = await client.request('consume', {
    transportId: transport.id,
    producerId,
    rtpCapabilities: {
      codecs: [
        {
          kind: 'audio',
          mimeType: 'audio/opus',
          preferredPayloadType: pt,
          clockRate: 48000,
          channels: 2,
          rtcpFeedback: [],
        },
      ],
      headerExtensions: [],
    },
  });
  await client.request('resumeConsumer', { consumerId: consumer.consumerId });
  const ready = performance.now() - t0;
  await client.leave();
  return { joined, ready };
}

/** A publisher in the room, so that newcomers have a producer to consume. */
async function publisher(wsUrl: string) {
  const c = await SignalingClient.connect(wsUrl);
  const j = await c.join('publisher');
  const pub = await publishAudio(c, opusPayloadType(j.routerRtpCapabilities));
  return { c, pub };
}

/** Requests per second of `method` from CLIENTS joined sockets on `url`, each in a closed loop. */
async function throughput(url: string, method: 'setHand' | 'ping'): Promise<number> {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => BenchClient.open(url)));
  for (const c of clients) await c.join();
  let done = 0;
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    clients.map(async (c, i) => {
      for (let n = 0; performance.now() < end; n++) {
        await (method === 'ping' ? c.request('ping', {}) : c.request('setHand', { raised: (n + i) % 2 === 0 }));
        done++;
      }
    }),
  );
  for (const c of clients) await c.leave();
  return done / SECONDS;
}

/** One owner kill: the signaling gap of each of the three participants, in ms. */
async function killRun(c: EdgeCluster, run: number): Promise<number[]> {
  const room = `bench-kill-${run}`;
  const [e1, e2, e3] = c.edges as [ClusterEdge, ClusterEdge, ClusterEdge];
  const owner = await SignalingClient.connect(e1.wsUrl(room));
  const oj = await owner.join('on-owner');
  const others = [await SignalingClient.connect(e2.wsUrl(room)), await SignalingClient.connect(e3.wsUrl(room))];
  for (const o of others) await o.join('relayed');
  const killedAt = performance.now();
  await e1.kill();
  const gaps = await Promise.all([
    // The one on the dead edge: reconnect to e2 and resume (as its app does), retrying while the room moves.
    waitFor(
      'the resume',
      async () => {
        const s = await SignalingClient.connect(e2.wsUrl(room));
        const r = await s.call('resume', {
          protocolVersion: PROTOCOL_VERSION,
          participantId: oj.participantId,
          resumeToken: oj.resumeToken,
        });
        if (!r.ok) {
          await s.close();
          return undefined;
        }
        await s.request('setHand', { raised: true });
        await s.close();
        return performance.now() - killedAt;
      },
      60_000,
      20,
    ),
    // The relayed ones: their next request waits until the new owner has re-attached them.
    ...others.map(async (o) => {
      await o.request('setHand', { raised: true });
      return performance.now() - killedAt;
    }),
  ]);
  for (const o of others) await o.close();
  await owner.close();
  await e1.start();
  return gaps;
}

async function main(): Promise<void> {
  // The per-connection message budget (50/s) would cap the closed loops of (b) long before the room does.
  const edgeEnv = { TREFFPUNKT_MESSAGES_PER_SECOND: '10000' };
  cluster = await startEdgeCluster({ leaseMs: LEASE_MS, edgeEnv });
  single = await startStack({ runtime: 'node', edgeEnv });
  const [e1, e2] = cluster.edges as [ClusterEdge, ClusterEdge];
  const room = 'bench-join';
  const pubCluster = await publisher(e1.wsUrl(room));
  const pubSingle = await publisher(single.wsUrl(room));
  const owner = await cluster.owner(room);
  if (owner !== e1.id) throw new Error(`expected ${e1.id} to own the room, not ${owner}`);

  type Sample = { joined: number; ready: number };
  const samples: Record<'owner' | 'relayed' | 'single', Sample[]> = { owner: [], relayed: [], single: [] };
  for (let i = 0; i < 3; i++) {
    await joinAndConsume(e1.wsUrl(room));
    await joinAndConsume(e2.wsUrl(room));
    await joinAndConsume(single.wsUrl(room));
  }
  for (let i = 0; i < JOINS; i++) {
    samples.owner.push(await joinAndConsume(e1.wsUrl(room)));
    samples.relayed.push(await joinAndConsume(e2.wsUrl(room)));
    samples.single.push(await joinAndConsume(single.wsUrl(room)));
  }
  const joinStats = Object.fromEntries(
    Object.entries(samples).map(([k, xs]) => [
      k,
      { joinedMs: summarize(xs.map((x) => x.joined)), readyMs: summarize(xs.map((x) => x.ready)) },
    ]),
  );

  const rps = {
    setHandOwner: await throughput(e1.wsUrl('bench-rps'), 'setHand'),
    setHandRelayed: await throughput(e2.wsUrl('bench-rps'), 'setHand'),
    setHandSingle: await throughput(single.wsUrl('bench-rps'), 'setHand'),
    pingOwner: await throughput(e1.wsUrl('bench-rps'), 'ping'),
    pingRelayed: await throughput(e2.wsUrl('bench-rps'), 'ping'),
  };
  await pubCluster.pub.pc.close();
  await pubSingle.pub.pc.close();
  await pubCluster.c.close();
  await pubSingle.c.close();

  const kills: number[][] = [];
  for (let run = 0; run < KILLS; run++) kills.push(await killRun(cluster, run));
  const resumed = kills.map((g) => Math.max(...g));

  const out = [
    `edge cluster benchmark: 3 NATS servers (R3), 3 edges, lease ${LEASE_MS} ms; ${JOINS} joins per path`,
    '',
    latencyTable([
      ['owner edge: open → joined', joinStats.owner!.joinedMs],
      ['non-owner edge: open → joined', joinStats.relayed!.joinedMs],
      ['single-process edge: open → joined', joinStats.single!.joinedMs],
      ['owner edge: open → consumer ready', joinStats.owner!.readyMs],
      ['non-owner edge: open → consumer ready', joinStats.relayed!.readyMs],
      ['single-process edge: open → consumer ready', joinStats.single!.readyMs],
    ]),
    '',
    `requests/s in one room, ${CLIENTS} clients in closed loops for ${SECONDS} s:`,
    `  setHand (saves the snapshot): owner ${rps.setHandOwner.toFixed(0)}, non-owner ${rps.setHandRelayed.toFixed(0)}, single-process ${rps.setHandSingle.toFixed(0)}`,
    `  ping (no state):              owner ${rps.pingOwner.toFixed(0)}, non-owner ${rps.pingRelayed.toFixed(0)}`,
    '',
    `owner edge kill -9 → every participant answered again (signaling gap), ${KILLS} runs:`,
    latencyTable([['everyone resumed', summarize(resumed)]]),
  ];
  console.log(out.join('\n'));
  console.log(
    `BENCH_JSON ${JSON.stringify({ machine: machineInfo(), leaseMs: LEASE_MS, join: joinStats, rps, kills })}`,
  );
  await cluster.stop();
  await single.stop();
}

// Whichever way the benchmark ends (a failure exits at once), no process of it outlives it.
process.on('exit', () => {
  cluster?.killNow();
  for (const n of single?.mediaNodes ?? []) if (n.alive()) n.process.kill('SIGKILL');
  if (single?.edgeAlive()) single.stop();
});
runBenchmark('cluster', 20 * 60_000, () => single, main);
