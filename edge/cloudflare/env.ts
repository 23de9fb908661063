/**
 * The Worker's bindings: Durable Object namespaces, the static assets of the browser app, and the
 * edge's settings as variables/secrets (the names of edge/core/config.ts).
 */
import type { NodeRegistryObject } from './registry.ts';
import type { RoomObject } from './room-host.ts';

export interface Env {
  ROOMS: DurableObjectNamespace<RoomObject>;
  REGISTRY: DurableObjectNamespace<NodeRegistryObject>;
  /** The browser app (dist/web): Workers static assets on Cloudflare, a disk service on workerd. */
  ASSETS: Fetcher;
  TREFFPUNKT_NODE_SECRETS?: string;
  TREFFPUNKT_MAX_MESSAGE_BYTES?: string;
  TREFFPUNKT_ROOM_CAPACITY?: string;
  TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS?: string;
  TREFFPUNKT_TURN_CREDENTIAL_TTL_SECONDS?: string;
  TREFFPUNKT_TRUSTED_ISSUERS?: string;
  TREFFPUNKT_JOIN_TOKEN_SECRET?: string;
  TREFFPUNKT_TOKEN_AUDIENCE?: string;
  TREFFPUNKT_TOKEN_MAX_LIFETIME_SECONDS?: string;
  TREFFPUNKT_JWKS_TIMEOUT_MS?: string;
  TREFFPUNKT_REMOVAL_BAR_SECONDS?: string;
  TREFFPUNKT_GUEST_POLICY?: string;
  TREFFPUNKT_MESSAGES_PER_SECOND?: string;
  TREFFPUNKT_CONNECTIONS_PER_MINUTE?: string;
  TREFFPUNKT_MAX_PRODUCERS?: string;
  TREFFPUNKT_RESUME_GRACE_MS?: string;
  TREFFPUNKT_MEDIA_OPERATORS?: string;
  TREFFPUNKT_MEDIA_JURISDICTIONS?: string;
  TREFFPUNKT_MAX_TRANSPORTS?: string;
  TREFFPUNKT_MAX_CONSUMERS?: string;
  TREFFPUNKT_LOBBY_CAPACITY?: string;
  TREFFPUNKT_JOIN_TIMEOUT_MS?: string;
  TREFFPUNKT_SOCKETS_PER_ADDRESS?: string;
  TREFFPUNKT_NODE_EVENTS_PER_SECOND?: string;
  TREFFPUNKT_ALLOW_INSECURE_HTTP?: string;
}

/** Settings as the string map parseEdgeConfig reads (bindings other than strings are ignored by it). */
export function settings(env: Env): Record<string, string | undefined> {
  return env as unknown as Record<string, string | undefined>;
}
