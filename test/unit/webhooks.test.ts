/**
 * Webhook signing and delivery (edge/core/webhooks/queue.ts, shared/webhooks.ts) with a scripted fetch:
 * the signature is Stripe's scheme computed by node:crypto independently, failures are retried with
 * backoff up to the bound, a hanging receiver never makes `emit` wait, a full queue drops, names only
 * on opt-in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { retryDelayMs, WebhookQueue } from '../../edge/core/webhooks/queue.ts';
import { signWebhook, verifyWebhook, WEBHOOK_SIGNATURE_HEADER } from '../../shared/webhooks.ts';
import { waitFor } from '../support/poll.ts';

const SECRET = 'a-receiver-secret-0123456789';
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const who = { id: 'p1', role: 'participant' as const, name: 'Hildegard' };

test('the signature is HMAC-SHA256 over "<t>.<body>" in the t=…,v1=… form', async () => {
  const body = '{"a":1}';
  const header = await signWebhook(SECRET, body, 1_700_000_000);
  const expected = createHmac('sha256', SECRET).update(`1700000000.${body}`).digest('hex');
  assert.equal(header, `t=1700000000,v1=${expected}`);
  assert.ok(await verifyWebhook(SECRET, body, header, 1_700_000_100));
  assert.ok(!(await verifyWebhook(SECRET, body, header, 1_700_000_000 + 301)), 'too old');
  assert.ok(!(await verifyWebhook(SECRET, '{"a":2}', header, 1_700_000_000)), 'another body');
  assert.ok(!(await verifyWebhook(SECRET, body, header.replace('t=1700000000', 't=1700000001'), 1_700_000_000)));
});

test('a failing receiver is retried with growing delays, at most maxAttempts times', async () => {
  const calls: { signature: string; body: string }[] = [];
  const queue = new WebhookQueue({
    receivers: [{ url: 'http://127.0.0.1:9/hooks', secret: SECRET }],
    log: silent,
    maxAttempts: 4,
    baseDelayMs: 20,
    fetch: async (_url, init) => {
      const headers = init?.headers as Record<string, string>;
      calls.push({ signature: headers[WEBHOOK_SIGNATURE_HEADER]!, body: String(init?.body) });
      return new Response(null, { status: 500 });
    },
  });
  queue.emit('participant_joined', 'room-a', who);
  await waitFor('four attempts', () => calls.length === 4 && queue.queued === 0);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(calls.length, 4, 'no fifth attempt');
  for (const c of calls) assert.ok(await verifyWebhook(SECRET, c.body, c.signature));
  const event = JSON.parse(calls[0]!.body);
  assert.deepEqual(Object.keys(event).sort(), ['at', 'id', 'participant', 'room', 'type']);
  assert.deepEqual(event.participant, { id: 'p1', role: 'participant' }, 'no name without opt-in');
  assert.equal(new Set(calls.map((c) => JSON.parse(c.body).id)).size, 1, 'one event id across retries');
  queue.close();
});

test('retry delays double from the base up to the bound, with ±20 % jitter', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 10].map((n) => retryDelayMs(n, 1000, 60_000, 0.5)),
    [1000, 2000, 4000, 8000, 60_000],
  );
  assert.equal(retryDelayMs(1, 1000, 60_000, 0), 800);
  assert.equal(retryDelayMs(1, 1000, 60_000, 1), 1200);
});

test('a hanging receiver: emit returns at once, the queue is capped and drops the newest', async () => {
  let started = 0;
  const queue = new WebhookQueue({
    receivers: [{ url: 'http://127.0.0.1:9/hooks', secret: SECRET }],
    log: silent,
    maxQueued: 3,
    timeoutMs: 60_000,
    fetch: () => {
      started++;
      return new Promise<Response>(() => {});
    },
  });
  for (let i = 0; i < 10; i++) {
    const returned = queue.emit('room_started', `room-${i}`);
    assert.equal(returned, undefined, 'emit is synchronous: nothing to await');
  }
  assert.equal(queue.queued, 3);
  await waitFor('the first delivery to start', () => started === 1);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(started, 1, 'one delivery at a time per receiver');
  queue.close();
});

test('names only with personalData; receivers get only the events they asked for', async () => {
  const bodies: string[] = [];
  const queue = new WebhookQueue({
    receivers: [{ url: 'http://127.0.0.1:9/a', secret: SECRET, events: ['participant_left'] }],
    log: silent,
    personalData: true,
    fetch: async (_u, init) => {
      bodies.push(String(init?.body));
      return new Response(null, { status: 204 });
    },
  });
  queue.emit('participant_joined', 'r', who);
  queue.emit('participant_left', 'r', who);
  await waitFor('one delivery', () => bodies.length === 1 && queue.queued === 0);
  assert.equal(JSON.parse(bodies[0]!).type, 'participant_left');
  assert.equal(JSON.parse(bodies[0]!).participant.name, 'Hildegard');
  queue.close();
});
