/**
 * Schemas for the mediasoup objects that cross the wire (RTP parameters and capabilities, ICE and DTLS
 * parameters). They check shape and bound sizes; mediasoup's worker still validates the semantics.
 * Unknown fields are kept (`looseObject`) because mediasoup adds optional fields between versions.
 */
import { z } from 'zod';

const shortString = z.string().max(256);
const smallInt = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1);
const codecParameters = z.record(z.string().max(64), z.union([z.string().max(512), z.number()])).optional();
const rtcpFeedback = z.array(z.looseObject({ type: shortString, parameter: shortString.optional() })).max(32);

export const RtpCodecParameters = z.looseObject({
  mimeType: shortString,
  payloadType: z.number().int().min(0).max(127),
  clockRate: smallInt,
  channels: z.number().int().min(1).max(16).optional(),
  parameters: codecParameters,
  rtcpFeedback: rtcpFeedback.optional(),
});

export const RtpParameters = z.looseObject({
  mid: shortString.optional(),
  codecs: z.array(RtpCodecParameters).min(1).max(32),
  headerExtensions: z
    .array(z.looseObject({ uri: shortString, id: z.number().int().min(1).max(255), encrypt: z.boolean().optional() }))
    .max(32)
    .optional(),
  encodings: z
    .array(z.looseObject({ ssrc: smallInt.optional(), rid: shortString.optional() }))
    .max(8)
    .optional(),
  rtcp: z.looseObject({ cname: shortString.optional(), reducedSize: z.boolean().optional() }).optional(),
});
export type RtpParameters = z.infer<typeof RtpParameters>;

export const RtpCapabilities = z.looseObject({
  codecs: z
    .array(
      z.looseObject({
        kind: z.enum(['audio', 'video']),
        mimeType: shortString,
        preferredPayloadType: z.number().int().min(0).max(127).optional(),
        clockRate: smallInt,
        channels: z.number().int().min(1).max(16).optional(),
        parameters: codecParameters,
        rtcpFeedback: rtcpFeedback.optional(),
      }),
    )
    .max(64)
    .optional(),
  headerExtensions: z
    .array(z.looseObject({ uri: shortString, preferredId: z.number().int() }))
    .max(64)
    .optional(),
});
export type RtpCapabilities = z.infer<typeof RtpCapabilities>;

export const DtlsParameters = z.looseObject({
  role: z.enum(['auto', 'client', 'server']).optional(),
  fingerprints: z
    .array(z.looseObject({ algorithm: shortString, value: z.string().max(512) }))
    .min(1)
    .max(8),
});
export type DtlsParameters = z.infer<typeof DtlsParameters>;

export const IceParameters = z.looseObject({
  usernameFragment: shortString,
  password: shortString,
  iceLite: z.boolean().optional(),
});

export const IceCandidate = z.looseObject({
  foundation: shortString,
  priority: z.number(),
  address: shortString,
  protocol: z.enum(['udp', 'tcp']),
  port: z.number().int().min(1).max(65535),
  type: z.string(),
  tcpType: z.string().optional(),
});

/** What a browser needs to create a mediasoup-client transport. */
export const TransportOptions = z.object({
  id: z.string().max(64),
  iceParameters: IceParameters,
  iceCandidates: z.array(IceCandidate).max(32),
  dtlsParameters: DtlsParameters,
});
export type TransportOptions = z.infer<typeof TransportOptions>;

export const MediaKind = z.enum(['audio', 'video']);
export type MediaKind = z.infer<typeof MediaKind>;

/** What a producer carries, so that receivers can lay it out (a camera tile vs. a screen share). */
export const MediaSource = z.enum(['camera', 'microphone', 'screen']);
export type MediaSource = z.infer<typeof MediaSource>;
