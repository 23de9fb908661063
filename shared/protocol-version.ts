/**
 * Protocol versions and features. Code asks "does this peer support X?" through `supports()` instead of
 * comparing version numbers in many places (the pattern of livekit's protocol_version.go).
 */
export const PROTOCOL_VERSION = 1;

/** Versions this build of the edge accepts in `join`. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [1];

const FEATURES = {
  /** Consumers are created paused and resumed by the client once its transport is ready. */
  pausedConsumers: 1,
} as const;

export type ProtocolFeature = keyof typeof FEATURES;

export function supports(version: number, feature: ProtocolFeature): boolean {
  return version >= FEATURES[feature];
}
