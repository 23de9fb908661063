/**
 * Which video codec a page sends, made explicit for Safari (issue 15; docs/web-app.md, "Safari").
 *
 * The router offers VP8 first and H264 (constrained baseline, packetization-mode 1) second
 * (shared/media-codecs.ts). Chromium and Firefox send VP8. Safari prefers H264 (hardware, better battery;
 * WebKit blog "On the Road to WebRTC 1.0, Including VP8", Safari 12.1) but has VP8 too; a WebKit build
 * or device without a VP8 encoder offers only H264, and then H264 must be chosen, not "no video".
 * Debian's Firefox ESR without the OpenH264 plugin cannot send H264 at all, which is why VP8 stays first.
 *
 * Temporal layers: simulcast encodings ask for `scalabilityMode: 'L1T3'` (the SFU drops frame rate for
 * weak receivers). That is tested with VP8 in Chromium and Firefox. H264 gets no scalabilityMode: hardware
 * H264 encoders (Safari's VideoToolbox) do not reliably make temporal layers, and WebRTC-SVC lets a
 * browser refuse a mode it cannot do (OperationError), which would cost the camera. A browser that refuses
 * it even for VP8 gets a second attempt without it (`withoutScalabilityMode`).
 */
import type { types } from 'mediasoup-client';

type Codec = types.RtpCodecCapability;

/** The codec to send video with, from what both the router and this browser can send; undefined: none. */
export function sendVideoCodec(sendCapabilities: { codecs?: Codec[] }): Codec | undefined {
  const video = (sendCapabilities.codecs ?? []).filter((c) => c.kind === 'video');
  const vp8 = video.find((c) => c.mimeType.toLowerCase() === 'video/vp8');
  if (vp8) return vp8;
  const h264 = video.filter((c) => c.mimeType.toLowerCase() === 'video/h264');
  // packetization-mode 1 (non-interleaved) carries large frames; mode 0 is one NAL unit per packet.
  return h264.find((c) => Number(c.parameters?.['packetization-mode']) === 1) ?? h264[0];
}

/** Whether the encodings may ask this codec for temporal layers (see above). */
export function temporalLayersFor(codec: Codec | undefined): boolean {
  return codec === undefined || codec.mimeType.toLowerCase() !== 'video/h264';
}

/** The same encodings without scalabilityMode: the browser's own default layering. */
export function withoutScalabilityMode(encodings: RTCRtpEncodingParameters[]): RTCRtpEncodingParameters[] {
  return encodings.map((e) => {
    const { scalabilityMode: _, ...rest } = e as RTCRtpEncodingParameters & { scalabilityMode?: string };
    return rest;
  });
}

/** Whether any encoding asks for a scalabilityMode. */
export function asksScalabilityMode(encodings: RTCRtpEncodingParameters[] | undefined): boolean {
  return (encodings ?? []).some((e) => (e as { scalabilityMode?: string }).scalabilityMode !== undefined);
}
