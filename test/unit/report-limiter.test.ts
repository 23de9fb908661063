import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReportLimiter } from '../../edge/core/room/media-failures.ts';

test('one line per key per window; reports in between are counted and go with the next line', () => {
  const limiter = new ReportLimiter(60_000);
  assert.deepEqual(limiter.take('a', 0), { suppressed: 0 });
  assert.equal(limiter.take('a', 1_000), undefined);
  assert.equal(limiter.take('a', 59_999), undefined);
  assert.deepEqual(limiter.take('b', 2_000), { suppressed: 0 }, 'each key has its own window');
  assert.deepEqual(limiter.take('a', 60_000), { suppressed: 2 });
  assert.equal(limiter.take('a', 60_001), undefined);
  assert.deepEqual(limiter.take('a', 200_000), { suppressed: 1 }, 'a count waits for the next line, however late');
  assert.deepEqual(limiter.take('b', 200_000), { suppressed: 0 });
});

test('the limiter forgets the oldest keys beyond its bound', () => {
  const limiter = new ReportLimiter(60_000);
  for (let i = 0; i < 2_000; i++) limiter.take(`p${i}`, 0);
  assert.deepEqual(limiter.take('p0', 1), { suppressed: 0 }, 'p0 was forgotten, so it may log again');
  assert.equal(limiter.take('p1999', 1), undefined);
});
