/**
 * The browser's codec choice (edge/web/meeting/codecs.ts, encodings.ts): what Chromium and Firefox send
 * (VP8, with temporal layers), and the Safari paths that cannot be run here (issue 15: no WebKit with
 * WebRTC on Debian): H264 when the browser offers no VP8, without asking a hardware encoder for temporal
 * layers. The capabilities are shaped like mediasoup-client's `device.sendRtpCapabilities` (the router's
 * codecs, shared/media-codecs.ts, that the browser can send).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { types } from 'mediasoup-client';
import { routerMediaCodecs } from '../../shared/media-codecs.ts';
import {
  asksScalabilityMode,
  sendVideoCodec,
  temporalLayersFor,
  withoutScalabilityMode,
} from '../../edge/web/meeting/codecs.ts';
import { produceOptions } from '../../edge/web/meeting/encodings.ts';

const codec = (mimeType: string, parameters: Record<string, unknown> = {}, preferredPayloadType = 100) =>
  ({
    kind: mimeType.startsWith('audio') ? 'audio' : 'video',
    mimeType,
    clockRate: 90000,
    preferredPayloadType,
    parameters,
  }) as types.RtpCodecCapability;
const opus = { ...codec('audio/opus'), clockRate: 48000, channels: 2 } as types.RtpCodecCapability;
const vp8 = codec('video/VP8', {}, 101);
const h264 = (mode: number) =>
  codec('video/H264', { 'packetization-mode': mode, 'profile-level-id': '42e01f' }, 102 + mode);
const track = (height: number) => ({ getSettings: () => ({ height }) }) as unknown as MediaStreamTrack;

test('the router offers VP8 first, then H264 constrained baseline with packetization-mode 1', () => {
  const video = routerMediaCodecs.filter((c) => c.kind === 'video');
  assert.deepEqual(
    video.map((c) => c.mimeType),
    ['video/VP8', 'video/H264'],
  );
  assert.equal((video[1]!.parameters as Record<string, unknown>)['packetization-mode'], 1);
});

test('Chromium and Firefox (VP8 offered): VP8', () => {
  assert.equal(sendVideoCodec({ codecs: [opus, vp8, h264(1)] }), vp8);
  assert.equal(sendVideoCodec({ codecs: [opus, h264(1), vp8] }), vp8, 'VP8 even when the browser lists H264 first');
  assert.equal(
    sendVideoCodec({ codecs: [opus, codec('video/vp8')] })?.mimeType,
    'video/vp8',
    'mime types are case-insensitive',
  );
});

test('Safari without VP8: H264, packetization-mode 1 before mode 0', () => {
  assert.deepEqual(sendVideoCodec({ codecs: [opus, h264(0), h264(1)] }), h264(1));
  assert.equal(Number(sendVideoCodec({ codecs: [opus, h264(0), h264(1)] })?.parameters?.['packetization-mode']), 1);
  assert.equal(Number(sendVideoCodec({ codecs: [opus, h264(0)] })?.parameters?.['packetization-mode']), 0);
});

test('no video codec in common: none chosen (the page then sends no video, it does not throw)', () => {
  assert.equal(sendVideoCodec({ codecs: [opus] }), undefined);
  assert.equal(sendVideoCodec({}), undefined);
});

test('camera: VP8 simulcast with temporal layers; H264 the same layers without a scalabilityMode', () => {
  const vp8Camera = produceOptions('camera', track(720), vp8);
  assert.equal(vp8Camera.codec, vp8);
  assert.deepEqual(
    vp8Camera.encodings!.map((e) => [e.scaleResolutionDownBy, (e as { scalabilityMode?: string }).scalabilityMode]),
    [
      [4, 'L1T3'],
      [2, 'L1T3'],
      [1, 'L1T3'],
    ],
  );
  const h264Camera = produceOptions('camera', track(720), h264(1));
  assert.equal(h264Camera.codec?.mimeType, 'video/H264');
  assert.deepEqual(
    h264Camera.encodings!.map((e) => e.scaleResolutionDownBy),
    [4, 2, 1],
    'still three layers',
  );
  assert.equal(asksScalabilityMode(h264Camera.encodings), false);
  assert.equal(temporalLayersFor(undefined), true, "mediasoup-client's default codec is VP8 here");
});

test('screen: one layer with the chosen codec; microphone: no video codec', () => {
  const screen = produceOptions('screen', track(1080), h264(1));
  assert.equal(screen.encodings!.length, 1);
  assert.equal(screen.codec?.mimeType, 'video/H264');
  assert.equal(produceOptions('microphone', track(0)).codec, undefined);
});

test('a browser that refuses temporal layers gets the same encodings without them', () => {
  const encodings = produceOptions('camera', track(540), vp8).encodings!;
  const plain = withoutScalabilityMode(encodings);
  assert.equal(asksScalabilityMode(encodings), true);
  assert.equal(asksScalabilityMode(plain), false);
  assert.deepEqual(
    plain.map((e) => [e.scaleResolutionDownBy, e.maxBitrate]),
    encodings.map((e) => [e.scaleResolutionDownBy, e.maxBitrate]),
  );
});
