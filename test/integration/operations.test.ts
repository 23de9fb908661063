/**
 * Operating Treffpunkt (issue 17) against a real stack (Node edge, real media node, werift peers):
 * metrics scraped from a live meeting, the admin API ending a room for real, signed webhooks that are
 * retried and never hold up a room, the admin CLI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { startStack, type Stack } from '../support/stack.ts';
import { SignalingClient } from '../support/signaling-client.ts';
import { ffmpegOpus, opusPayloadType, publishAudio, receiveAudio } from '../support/werift-peer.ts';
import { waitFor } from '../support/poll.ts';
import { deploymentToken } from '../support/join-token.ts';
import { freeTcpPort, startWebhookReceiver } from '../support/webhook-receiver.ts';
import { verifyWebhook } from '../../shared/webhooks.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol-version.ts';

const ADMIN_TOKEN = randomBytes(24).toString('hex');
const HOOK_SECRET = randomBytes(24).toString('hex');
const JOIN_SECRET = randomBytes(24).toString('hex');
const PARTNER_SECRET = randomBytes(24).toString('hex');
const configFile = join(mkdtempSync(join(tmpdir(), 'treffpunkt-ops-')), 'edge.env');

/** One sample's value: `name{labels}` summed over matching series. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const l = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`))) {
      sum += Number(m[3]);
      found = true;
    }
  }
  return found ? sum : Number.NaN;
}

describe('operations: metrics, admin API, webhooks', () => {
  let stack: Stack;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let edgeMetrics: string;
  let nodeMetrics: string;
  const scrape = async (url: string) => (await fetch(url)).text();
  const admin = (path: string, init: RequestInit = {}, token: string | null = ADMIN_TOKEN) =>
    fetch(`${stack.edgeUrl}${path}`, {
      ...init,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers },
    });

  before(async () => {
    writeFileSync(configFile, "TREFFPUNKT_TRUSTED_ISSUERS='[]'\n");
    receiver = await startWebhookReceiver();
    const [edgePort, nodePort] = [await freeTcpPort(), await freeTcpPort()];
    edgeMetrics = `http://127.0.0.1:${edgePort}/metrics`;
    nodeMetrics = `http://127.0.0.1:${nodePort}/metrics`;
    stack = await startStack({
      edgeEnv: {
        TREFFPUNKT_METRICS_ADDR: `127.0.0.1:${edgePort}`,
        TREFFPUNKT_ADMIN_TOKEN: ADMIN_TOKEN,
        TREFFPUNKT_JOIN_TOKEN_SECRET: JOIN_SECRET,
        TREFFPUNKT_GUEST_POLICY: 'allow',
        TREFFPUNKT_WEBHOOKS: JSON.stringify([{ url: receiver.url, secret: HOOK_SECRET }]),
        TREFFPUNKT_WEBHOOK_RETRY_MS: '50',
        TREFFPUNKT_WEBHOOK_TIMEOUT_MS: '1000',
        TREFFPUNKT_WEBHOOK_MAX_ATTEMPTS: '4',
        TREFFPUNKT_RESUME_GRACE_MS: '1000',
        TREFFPUNKT_CONFIG_FILE: configFile,
      },
      mediaNodeEnv: {
        TREFFPUNKT_METRICS_ADDR: `127.0.0.1:${nodePort}`,
        TREFFPUNKT_METRICS_STATS_INTERVAL_MS: '1000',
      },
    });
  });
  after(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  test('metrics from a live meeting: counts, nonzero bitrates, no names or tokens', async () => {
    const room = 'ops-metrics';
    const token = await deploymentToken(JOIN_SECRET, { room, name: 'Adelheid Metric', role: 'moderator' });
    const alice = await SignalingClient.connect(stack.wsUrl(room));
    const aliceJoin = await alice.request('join', { protocolVersion: PROTOCOL_VERSION, name: 'x', token });
    const bob = await SignalingClient.connect(stack.wsUrl(room));
    await bob.join('Bertram Metric');
    const mallory = await SignalingClient.connect(stack.wsUrl(room));
    const refused = await mallory.call('join', { protocolVersion: PROTOCOL_VERSION, name: 'M', token: 'not.a.token' });
    assert.equal(refused.ok, false);

    const pt = opusPayloadType(aliceJoin.routerRtpCapabilities);
    const pub = await publishAudio(alice, pt);
    const sub = await receiveAudio(bob, pt, pub.producerId);
    const stop = new AbortController();
    const sending = ffmpegOpus(pt, 20, pub.writeRtp, stop.signal);
    try {
      await waitFor('forwarded packets', () => sub.received.packets > 50, 15_000);
      const node = await waitFor(
        'nonzero bitrates in the media node metrics',
        async () => {
          const text = await scrape(nodeMetrics);
          const bitIn = metric(text, 'treffpunkt_node_bitrate_bits_per_second', { direction: 'in', type: 'webrtc' });
          const bitOut = metric(text, 'treffpunkt_node_bitrate_bits_per_second', { direction: 'out', type: 'webrtc' });
          return bitIn > 0 && bitOut > 0 ? text : undefined;
        },
        20_000,
        250,
      );
      assert.equal(metric(node, 'treffpunkt_node_producers', { kind: 'audio' }), 1);
      assert.equal(metric(node, 'treffpunkt_node_consumers', { kind: 'audio' }), 1);
      assert.equal(metric(node, 'treffpunkt_node_transports', { type: 'webrtc' }), 2);
      assert.equal(metric(node, 'treffpunkt_node_routers'), 1);
      assert.ok(metric(node, 'treffpunkt_node_worker_cpu_seconds', { worker: '0' }) > 0, 'worker CPU time');
      assert.ok(metric(node, 'treffpunkt_node_worker_max_rss_bytes', { worker: '0' }) > 1e6, 'worker memory');
      assert.ok(metric(node, 'treffpunkt_node_packet_loss_ratio', { direction: 'in', stat: 'max' }) >= 0);
      assert.equal(metric(node, 'treffpunkt_node_turn_allocations'), 0);

      const edge = await scrape(edgeMetrics);
      assert.equal(metric(edge, 'treffpunkt_edge_rooms'), 1);
      assert.equal(metric(edge, 'treffpunkt_edge_participants'), 2);
      assert.equal(metric(edge, 'treffpunkt_edge_joins_total', { outcome: 'ok' }), 2);
      assert.equal(metric(edge, 'treffpunkt_edge_joins_total', { outcome: 'UNAUTHORIZED' }), 1);
      assert.equal(metric(edge, 'treffpunkt_edge_request_duration_seconds_count', { method: 'produce' }), 1);
      assert.ok(
        metric(edge, 'treffpunkt_edge_node_calls_total', { op: 'produce', node: stack.nodeId, outcome: 'ok' }) >= 1,
      );
      assert.equal(metric(edge, 'treffpunkt_edge_media_nodes', { status: 'up' }), 1);
      assert.ok(metric(edge, 'treffpunkt_edge_node_heartbeat_age_seconds', { node: stack.nodeId }) >= 0);
      for (const text of [edge, node]) {
        for (const secret of ['Adelheid', 'Bertram', token, ADMIN_TOKEN, HOOK_SECRET, JOIN_SECRET, stack.secret])
          assert.ok(!text.includes(secret), `metrics must not contain ${secret.slice(0, 8)}…`);
        assert.ok(!text.includes(room), 'room names only with TREFFPUNKT_METRICS_ROOM_LABELS');
      }
    } finally {
      stop.abort();
      await sending.catch(() => {});
      await pub.pc.close();
      await sub.pc.close();
      await Promise.all([alice.close(), bob.close(), mallory.close()]);
    }
  });

  test('the admin API refuses without the token and ends a room for real', async () => {
    const room = 'ops-admin';
    const none = await admin('/admin/v1/rooms', {}, null);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
    const wrong = await admin('/admin/v1/rooms', {}, `${ADMIN_TOKEN.slice(0, -1)}x`);
    assert.equal(wrong.status, 401);
    assert.ok(!stack.output().includes(ADMIN_TOKEN), 'the admin token is never logged');

    const a = await SignalingClient.connect(stack.wsUrl(room));
    const aJoin = await a.join('Cordula Admin');
    const b = await SignalingClient.connect(stack.wsUrl(room));
    await b.join('Detlef Admin');
    const listed = await admin('/admin/v1/rooms');
    assert.equal(listed.status, 200);
    const body = await listed.text();
    assert.ok(!body.includes('Cordula') && !body.includes('Detlef'), 'no display names in the admin API');
    const { rooms } = JSON.parse(body) as { rooms: { name: string; participants: { id: string; nodeId: string }[] }[] };
    const mine = rooms.find((r) => r.name === room);
    assert.equal(mine?.participants.length, 2);
    assert.ok(mine.participants.some((p) => p.id === aJoin.participantId && p.nodeId === stack.nodeId));

    // The CLI lists it too, with the token from the environment.
    const cli = await promisify(execFile)(process.execPath, ['scripts/admin.ts', 'rooms', '--url', stack.edgeUrl], {
      env: { ...process.env, TREFFPUNKT_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    assert.match(cli.stdout, new RegExp(`${room}\\s+2 participant`));

    const ended = await admin(`/admin/v1/rooms/${room}`, { method: 'DELETE' });
    assert.deepEqual(await ended.json(), { ok: true, affected: 2 });
    await waitFor('both sockets closed with 4000 (meeting ended)', () => a.closeCode === 4000 && b.closeCode === 4000);
    const after = (await (await admin('/admin/v1/rooms')).json()) as { rooms: { name: string }[] };
    assert.ok(!after.rooms.some((r) => r.name === room), 'the room is gone');
    assert.equal((await admin(`/admin/v1/rooms/${room}`, { method: 'DELETE' })).status, 404);

    const nodes = (await (await admin('/admin/v1/nodes')).json()) as { nodes: { nodeId: string; status: string }[] };
    assert.deepEqual(
      nodes.nodes.map((n) => [n.nodeId, n.status]),
      [[stack.nodeId, 'up']],
    );
  });

  test('webhooks: signed, retried when the receiver fails, never holding up a room', async () => {
    const room = 'ops-hooks';
    // Earlier tests' events drain first, so that this one counts its own.
    await waitFor('earlier webhooks delivered', async () => {
      const text = await scrape(edgeMetrics);
      return metric(text, 'treffpunkt_edge_webhook_queue') === 0;
    });
    receiver.setMode({ kind: 'fail', times: 2, status: 503 });
    const attemptsBefore = receiver.attempts();
    const c = await SignalingClient.connect(stack.wsUrl(room));
    const cJoin = await c.join('Erika Hook');
    const started = await waitFor('room_started delivered after two failures', () =>
      receiver.deliveries.find((d) => d.body.includes('"room_started"') && d.body.includes(room)),
    );
    assert.ok(receiver.attempts() - attemptsBefore >= 3, 'two failed attempts, then the delivery');
    assert.ok(await verifyWebhook(HOOK_SECRET, started.body, started.signature), 'valid signature');
    assert.ok(!(await verifyWebhook('another-secret-0123456789', started.body, started.signature)));
    assert.ok(!(await verifyWebhook(HOOK_SECRET, `${started.body} `, started.signature)), 'the body is covered');
    const joined = await waitFor('participant_joined delivered', () =>
      receiver.deliveries.find((d) => d.body.includes('"participant_joined"') && d.body.includes(room)),
    );
    assert.equal(JSON.parse(joined.body).participant.id, cJoin.participantId);
    assert.ok(!joined.body.includes('Erika'), 'no display name without TREFFPUNKT_WEBHOOK_PERSONAL_DATA');

    // A receiver that hangs: the room keeps answering, the events wait in the queue.
    receiver.setMode({ kind: 'hang' });
    const d = await SignalingClient.connect(stack.wsUrl(room));
    await d.join('Friedrich Hook');
    await c.request('chat', { text: 'still here' });
    await d.waitForEvent('chat');
    const pong = await d.request('ping', {});
    assert.ok(pong.time > 0);
    await waitFor('events queued behind the hanging receiver', async () => {
      const text = await scrape(edgeMetrics);
      return metric(text, 'treffpunkt_edge_webhook_queue') >= 1;
    });

    receiver.setMode({ kind: 'ok' });
    await Promise.all([c.close(), d.close()]);
    await waitFor(
      'participant_left and room_ended delivered once the receiver answers again',
      () => {
        const mine = receiver.events().filter((e) => e.room === room);
        return (
          mine.some((e) => e.type === 'room_ended') && mine.filter((e) => e.type === 'participant_left').length === 2
        );
      },
      20_000,
    );
    const ids = receiver.events().map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'each event delivered once after its retries');
    const text = await scrape(edgeMetrics);
    assert.ok(metric(text, 'treffpunkt_edge_webhook_deliveries_total', { outcome: 'retry' }) >= 2);
  });

  test('SIGHUP trusts new issuers without dropping the meeting; the log level changes at run time', async () => {
    const room = 'ops-reload';
    const partnerToken = () =>
      new SignJWT({ room, name: 'Gerlinde Partner', role: 'participant' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('partner')
        // A subject per token: one person per token, so that several may be in the room.
        .setSubject(randomBytes(8).toString('hex'))
        .setAudience('treffpunkt')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(PARTNER_SECRET));
    const host = await SignalingClient.connect(stack.wsUrl(room));
    await host.join('Hubert Reload');
    const before = await SignalingClient.connect(stack.wsUrl(room));
    const refused = await before.call('join', {
      protocolVersion: PROTOCOL_VERSION,
      name: 'x',
      token: await partnerToken(),
    });
    assert.equal(refused.ok ? 'ok' : refused.error.code, 'UNAUTHORIZED', 'the partner is not trusted yet');

    writeFileSync(
      configFile,
      `TREFFPUNKT_TRUSTED_ISSUERS='${JSON.stringify([{ issuer: 'partner', hs256Secret: PARTNER_SECRET, rooms: ['ops-*'] }])}'\n`,
    );
    process.kill(stack.edgePid()!, 'SIGHUP');
    await waitFor('the reload', () => stack.output().includes('settings reloaded'));
    const partner = await SignalingClient.connect(stack.wsUrl(room));
    const joined = await partner.call('join', {
      protocolVersion: PROTOCOL_VERSION,
      name: 'x',
      token: await partnerToken(),
    });
    assert.ok(joined.ok, 'the new issuer is trusted');
    assert.equal(host.closeCode, undefined, 'the meeting went on');
    await host.request('chat', { text: 'after the reload' });

    // A bad file changes nothing: the partner stays trusted, the problem is logged.
    writeFileSync(configFile, 'TREFFPUNKT_TRUSTED_ISSUERS=not json\n');
    process.kill(stack.edgePid()!, 'SIGHUP');
    await waitFor('the failed reload', () => stack.output().includes('settings reload failed'));
    const again = await SignalingClient.connect(stack.wsUrl(room));
    assert.ok(
      (await again.call('join', { protocolVersion: PROTOCOL_VERSION, name: 'x', token: await partnerToken() })).ok,
    );

    // Log level through the admin API: at "error", a join writes no info line; back at "info" it does.
    const level = (l: string) =>
      admin('/admin/v1/log-level', {
        method: 'PUT',
        body: JSON.stringify({ level: l }),
        headers: { 'content-type': 'application/json' },
      });
    assert.equal((await level('error')).status, 200);
    const quiet = await SignalingClient.connect(stack.wsUrl(room));
    const quietJoin = await quiet.join('Quiet');
    await quiet.request('ping', {});
    assert.ok(!stack.output().includes(quietJoin.participantId), 'no info line at level error');
    assert.equal((await level('info')).status, 200);
    const loud = await SignalingClient.connect(stack.wsUrl(room));
    const loudJoin = await loud.join('Loud');
    await waitFor('an info line at level info', () => stack.output().includes(loudJoin.participantId));
    assert.equal((await level('verbose')).status, 400);
    await Promise.all([host, before, partner, again, quiet, loud].map((c) => c.close()));
  });

  // Last: the drained node takes no one after this.
  test('the CLI removes a participant (4001) and drains the node', async () => {
    const room = 'ops-remove';
    const cli = (...args: string[]) =>
      promisify(execFile)(process.execPath, ['scripts/admin.ts', ...args, '--url', stack.edgeUrl], {
        env: { ...process.env, TREFFPUNKT_ADMIN_TOKEN: ADMIN_TOKEN },
      });
    const stays = await SignalingClient.connect(stack.wsUrl(room));
    await stays.join('Ida Remove');
    const goes = await SignalingClient.connect(stack.wsUrl(room));
    const goesJoin = await goes.join('Jakob Remove');
    assert.match((await cli('remove', room, goesJoin.participantId)).stdout, /removed/);
    await waitFor('the removed socket closed with 4001', () => goes.closeCode === 4001);
    await stays.waitForEvent<{ participantId: string }>(
      'participantLeft',
      (d) => d.participantId === goesJoin.participantId,
    );
    const missing = await cli('remove', room, goesJoin.participantId).then(
      () => assert.fail('removed twice'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /NOT_FOUND/);

    assert.match((await cli('drain', stack.nodeId)).stdout, /drains/);
    assert.match((await cli('nodes')).stdout, new RegExp(`${stack.nodeId}\\s+draining`));
    const late = await SignalingClient.connect(stack.wsUrl('ops-late'));
    const refused = await late.call('join', { protocolVersion: PROTOCOL_VERSION, name: 'Late' });
    assert.equal(refused.ok ? 'ok' : refused.error.code, 'NO_MEDIA_NODE');
    const text = await scrape(edgeMetrics);
    assert.equal(metric(text, 'treffpunkt_edge_media_nodes', { status: 'draining' }), 1);
    assert.equal(metric(text, 'treffpunkt_edge_joins_total', { outcome: 'NO_MEDIA_NODE' }), 1);
    await Promise.all([stays.close(), late.close()]);
  });
});
