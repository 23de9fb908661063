/**
 * Wrong settings are loud (issue 13). A media node whose clock is 90 s ahead is refused by the edge
 * ("stale timestamp"): the node logs the edge's reason and the measured clock offset, and keeps warning;
 * the edge logs the refusal with the node's id. A node announcing an address where nothing listens says
 * so at start. The nodes here are real media-node/main.ts processes next to a stack's edge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { waitFor } from '../support/poll.ts';
import { spawnMediaNode as spawnNode } from '../support/media-node-process.ts';
import { startStack } from '../support/stack.ts';

test('a node whose clock is 90 s ahead: both sides say why, with the offset, again and again', async (t) => {
  const secret = randomBytes(24).toString('hex');
  const stack = await startStack({ extraNodes: [{ nodeId: 'skewed', secret }] });
  t.after(() => stack.stop());
  const node = await spawnNode('skewed', secret, stack.edgeUrl, { TREFFPUNKT_TEST_CLOCK_OFFSET_MS: '90000' });
  t.after(() => void node.child.kill('SIGKILL'));

  const refusals = () => node.lines().filter((l) => /clock is .* off/.test(String(l.msg)));
  await waitFor('two warnings from the node', () => refusals().length >= 2, 30_000);
  const [first, second] = refusals() as [Record<string, unknown>, Record<string, unknown>];
  assert.equal(first.level, 40, 'warn');
  assert.match(String(first.err), /HTTP 401 UNAUTHORIZED: request refused: stale timestamp/);
  assert.ok(Math.abs(Number(first.clockOffsetMs) - 90_000) < 5_000, `offset ${first.clockOffsetMs}`);
  assert.match(String(first.msg), /clock is 9\d s off the edge's/);
  assert.ok(Number(second.suppressed) > 0, 'retries in between are counted, not dropped');
  assert.ok(Number(second.failures) > Number(first.failures));

  const edgeLines = stack
    .output()
    .split('\n')
    .filter((l) => l.includes('"service":"edge"') && l.includes('media node request refused'));
  assert.ok(edgeLines.length > 0, 'the edge logs the refusal');
  const edgeLine = JSON.parse(edgeLines[0]!) as Record<string, unknown>;
  assert.deepEqual([edgeLine.node, edgeLine.reason, edgeLine.security], ['skewed', 'stale timestamp', true]);
  assert.doesNotMatch(node.output() + stack.output(), new RegExp(secret), 'no secret in any log');
});

test('a node announcing an address where nothing listens says so at start', async (t) => {
  const secret = randomBytes(24).toString('hex');
  const stack = await startStack({
    extraNodes: [{ nodeId: 'misaddressed', secret }],
  });
  t.after(() => stack.stop());
  const wrong = await spawnNode('misaddressed', secret, stack.edgeUrl, {
    TREFFPUNKT_NODE_ANNOUNCED_ADDRESS: '127.0.0.99',
  });
  t.after(() => void wrong.child.kill('SIGKILL'));
  await waitFor(
    'the warning',
    () => wrong.lines().find((l) => /nothing answers at the address/.test(String(l.msg))),
    20_000,
  );
  const line = wrong.lines().find((l) => /nothing answers at the address/.test(String(l.msg)))!;
  assert.deepEqual([line.level, line.announcedAddress, line.protocol], [50, '127.0.0.99', 'tcp']);
  // The edge probes the address the node reported at registration, and names the node.
  await waitFor(
    'the edge to name the node',
    () => /nothing answers at the media node's announced media address/.test(stack.output()),
    20_000,
  );
  const edgeLine = JSON.parse(
    stack
      .output()
      .split('\n')
      .find((l) => l.includes("nothing answers at the media node's announced media address"))!,
  ) as Record<string, unknown>;
  assert.deepEqual([edgeLine.level, edgeLine.node, edgeLine.address], [40, 'misaddressed', '127.0.0.99']);
  // The stack's own node (announcing its listen address) raised no such line, on either side.
  assert.doesNotMatch(stack.output(), /nothing answers at the address/);
  assert.equal(stack.output().match(/nothing answers at the media node's announced/g)?.length, 1);
});
