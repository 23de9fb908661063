/**
 * The codecs every room's router offers. VP8 first for video (every browser decodes it in software),
 * H264 as a second choice for devices that only have a hardware encoder; both get NACK, PLI and RTX
 * (mediasoup adds the rtx codecs and the nack/pli/transport-cc feedback itself), so a lost video packet
 * is resent by the SFU from its buffer instead of freezing the picture until the next key frame.
 *
 * Audio is Opus, protected against loss (issue 13, "Bad networks"; docs/media.md):
 * - `useinbandfec=1`: the encoder carries a low-bitrate copy of the previous frame in each packet, which
 *   the receiver decodes when a packet is missing. Opus adds it only when the sender believes there is
 *   loss; mediasoup tells it the worst loss among the producer's receivers (it puts their worst fraction
 *   lost into its receiver reports to the sender, for producers with useinbandfec=1), so a receiver
 *   on a bad line makes the sender protect its audio.
 * - `usedtx=1`: almost nothing is sent while someone is silent (a packet every 400 ms, comfort noise at
 *   the receiver), which leaves bandwidth for the rest on a thin line.
 * - No RED (RFC 2198 redundant audio): mediasoup 3.27 has no RED support (versatica/mediasoup#481 is open;
 *   `audio/red` is not in its supported capabilities, so a router refuses it). The browser's side of these
 *   options is in edge/web/meeting/encodings.ts (mediasoup-client's codecOptions).
 */
export const routerMediaCodecs = [
  {
    kind: 'audio',
    mimeType: 'audio/opus',
    clockRate: 48000,
    channels: 2,
    parameters: { useinbandfec: 1, usedtx: 1 },
  },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000, parameters: { 'x-google-start-bitrate': 1000 } },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  },
] as const;
