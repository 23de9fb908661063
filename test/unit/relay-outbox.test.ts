/** The owner's numbered frames for a relayed socket, kept and sent again until acked (relay-outbox.ts). */
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { MAX_UNACKED_FRAMES, RelayOutbox, RESEND_FIRST_MS } from '../../edge/cluster/relay-outbox.ts';

function outbox() {
  const sent: number[] = [];
  let overflows = 0;
  const out = new RelayOutbox<string>({
    send: ({ seq }) => sent.push(seq),
    resendMaxMs: 4 * RESEND_FIRST_MS,
    overflowed: () => overflows++,
  });
  return { out, sent, overflows: () => overflows };
}

test('frames are numbered from 1 and sent again from the oldest until acked, less often each time', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { out, sent } = outbox();
    out.push('a');
    out.push('b');
    out.push('c');
    assert.deepEqual(sent, [1, 2, 3]);
    out.acked(1);
    mock.timers.tick(RESEND_FIRST_MS);
    assert.deepEqual(sent.slice(3), [2, 3], 'the unacked ones, in order');
    mock.timers.tick(RESEND_FIRST_MS);
    assert.equal(sent.length, 5, 'the next resend waits twice as long');
    mock.timers.tick(RESEND_FIRST_MS);
    assert.deepEqual(sent.slice(5), [2, 3]);
    out.acked(3);
    assert.equal(out.unacked, 0);
    mock.timers.tick(10 * RESEND_FIRST_MS);
    assert.equal(sent.length, 7, 'nothing more once everything is acked');
    out.acked(9);
    out.push('d');
    assert.equal(sent.at(-1), 4, 'an ack of a frame never sent changes nothing');
  } finally {
    mock.timers.reset();
  }
});

test('a full outbox gives up its oldest frame (the relaying edge sees the gap) and says so once', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { out, overflows } = outbox();
    for (let i = 0; i < MAX_UNACKED_FRAMES + 3; i++) out.push(`f${i}`);
    assert.equal(out.unacked, MAX_UNACKED_FRAMES);
    assert.equal(overflows(), 1);
    out.stop();
    assert.equal(out.unacked, 0);
  } finally {
    mock.timers.reset();
  }
});

test('two outboxes number in streams of their own', () => {
  assert.notEqual(outbox().out.stream, outbox().out.stream);
});
