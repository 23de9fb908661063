import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressKey, addressPseudonym } from '../../edge/core/rate-limit.ts';

test('address keys: IPv4 as is, IPv6 per /64, IPv4-mapped as IPv4', () => {
  assert.equal(addressKey('192.0.2.7'), '192.0.2.7');
  assert.equal(addressKey('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(addressKey('2001:db8:1:2:aa::1'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:0DB8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
  assert.equal(addressKey('[2001:db8:1:2::9]'), '2001:db8:1:2::/64');
  assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(addressKey('::1'), '0:0:0:0::/64');
  assert.notEqual(addressKey('2001:db8:1:3::1'), addressKey('2001:db8:1:2::1'));
});

test('address pseudonyms: stable within a process, not the address', async () => {
  const a = await addressPseudonym('192.0.2.7');
  assert.equal(a, await addressPseudonym('192.0.2.7'));
  assert.notEqual(a, await addressPseudonym('192.0.2.8'));
  assert.doesNotMatch(a, /192/);
});
