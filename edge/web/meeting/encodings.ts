/** How each of our sources is encoded: simulcast for the camera, one sharp layer for a screen, Opus options. */
import type { types } from 'mediasoup-client';
import type { MediaSource } from '../../../shared/media-types.ts';
import { diagnostics } from '../diagnostics.ts';
import { temporalLayersFor, withoutScalabilityMode } from './codecs.ts';

/** The order in which our sources are produced (again): audio first, so people hear us soonest. */
export const SOURCE_ORDER: readonly MediaSource[] = ['microphone', 'camera', 'screen'];

/**
 * Camera simulcast: three spatial layers (¼, ½ and full resolution: 180p/360p/720p from a 720p camera),
 * each with three temporal layers, so the SFU can give every subscriber the layer that fits its tile.
 * Browsers send fewer layers for small captures (Chromium: 2 below 540p, 1 below 270p) and would drop
 * the top ones, so smaller captures get fewer, full-resolution-anchored layers.
 */
export function cameraEncodings(captureHeight: number): RTCRtpEncodingParameters[] {
  const n = captureHeight >= 540 ? 3 : captureHeight >= 270 ? 2 : 1;
  const bitrates = [150_000, 500_000, 1_500_000];
  return Array.from({ length: n }, (_, i) => ({
    scaleResolutionDownBy: 2 ** (n - 1 - i),
    maxBitrate: bitrates[i],
    scalabilityMode: 'L1T3',
  })) as unknown as RTCRtpEncodingParameters[];
}

/**
 * Screen share: one full-resolution layer (text must stay sharp, so no downscaled copies), a higher
 * bitrate and a low frame rate; with contentHint 'text' the browser keeps the resolution and drops
 * frames when the bandwidth is short.
 */
export const SCREEN_ENCODINGS: RTCRtpEncodingParameters[] = [
  { maxBitrate: 2_500_000, maxFramerate: 15, scaleResolutionDownBy: 1 },
];

/**
 * The produce() options for a source's track (the encodings, codec options and codec of mediasoup-client's
 * ProducerOptions). `videoCodec`: the codec chosen by codecs.ts `sendVideoCodec` (undefined: mediasoup-client's
 * default, the router's first one this browser can send). The microphone gets Opus in-band FEC and DTX (why:
 * shared/media-codecs.ts); mono, because a fake stereo voice only doubles the bitrate.
 */
export function produceOptions(
  source: MediaSource,
  track: MediaStreamTrack,
  videoCodec?: types.RtpCodecCapability,
): Pick<types.ProducerOptions, 'encodings' | 'codecOptions' | 'codec'> {
  const codec = videoCodec ? { codec: videoCodec } : {};
  if (source === 'camera') {
    const encodings = cameraEncodings(track.getSettings().height ?? 720);
    return {
      encodings: temporalLayersFor(videoCodec) ? encodings : withoutScalabilityMode(encodings),
      codecOptions: { videoGoogleStartBitrate: 1000 },
      ...codec,
    };
  }
  if (source === 'screen')
    return { encodings: SCREEN_ENCODINGS, codecOptions: { videoGoogleStartBitrate: 1000 }, ...codec };
  const protect = diagnostics.audioProtection;
  return { codecOptions: { opusStereo: false, opusDtx: protect, opusFec: protect } };
}
