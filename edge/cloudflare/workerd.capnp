# Self-hosted edge: the same Worker as on Cloudflare, under the open-source workerd runtime, with the
# Durable Objects stored on local disk. Build first (npm run build:web && npm run build:worker), then:
#
#   TREFFPUNKT_NODE_SECRETS=node-a=... node_modules/.bin/workerd serve edge/cloudflare/workerd.capnp \
#     --directory-path do-storage=/var/lib/treffpunkt/do --socket-addr http=127.0.0.1:8787
#
# or `npm run edge:workerd` (storage in .workerd/, port 8787). Disk paths are relative to the working directory (the repository root); `embed` is relative to this file.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "edge", worker = .edgeWorker),
    (name = "assets", disk = (path = "dist/web")),
    (name = "do-storage", disk = (path = ".workerd/do", writable = true)),
    # Media nodes usually sit on private networks of their operators: allow them as fetch targets.
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "edge") ],
);

const edgeWorker :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "../../dist/worker/worker.js") ],
  compatibilityDate = "2026-08-01",
  # No permessage-deflate on room sockets: each compressed socket holds a zlib context of about 300 KiB
  # in workerd (measured: 452 KiB per participant with it), for signaling frames of a few hundred bytes.
  # wrangler.toml and test/support/workerd-edge.ts set the same flag.
  compatibilityFlags = ["no_web_socket_compression"],
  bindings = [
    (name = "ROOMS", durableObjectNamespace = "RoomObject"),
    (name = "REGISTRY", durableObjectNamespace = "NodeRegistryObject"),
    (name = "ASSETS", service = "assets"),
    (name = "TREFFPUNKT_NODE_SECRETS", fromEnvironment = "TREFFPUNKT_NODE_SECRETS"),
    (name = "TREFFPUNKT_MAX_MESSAGE_BYTES", fromEnvironment = "TREFFPUNKT_MAX_MESSAGE_BYTES"),
    (name = "TREFFPUNKT_ROOM_CAPACITY", fromEnvironment = "TREFFPUNKT_ROOM_CAPACITY"),
    (name = "TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS", fromEnvironment = "TREFFPUNKT_NODE_HEARTBEAT_TIMEOUT_MS"),
    (name = "TREFFPUNKT_NODE_LINK_SILENCE_MS", fromEnvironment = "TREFFPUNKT_NODE_LINK_SILENCE_MS"),
    (name = "TREFFPUNKT_TURN_CREDENTIAL_TTL_SECONDS", fromEnvironment = "TREFFPUNKT_TURN_CREDENTIAL_TTL_SECONDS"),
    (name = "TREFFPUNKT_TRUSTED_ISSUERS", fromEnvironment = "TREFFPUNKT_TRUSTED_ISSUERS"),
    (name = "TREFFPUNKT_JOIN_TOKEN_SECRET", fromEnvironment = "TREFFPUNKT_JOIN_TOKEN_SECRET"),
    (name = "TREFFPUNKT_TOKEN_AUDIENCE", fromEnvironment = "TREFFPUNKT_TOKEN_AUDIENCE"),
    (name = "TREFFPUNKT_TOKEN_MAX_LIFETIME_SECONDS", fromEnvironment = "TREFFPUNKT_TOKEN_MAX_LIFETIME_SECONDS"),
    (name = "TREFFPUNKT_JWKS_TIMEOUT_MS", fromEnvironment = "TREFFPUNKT_JWKS_TIMEOUT_MS"),
    (name = "TREFFPUNKT_REMOVAL_BAR_SECONDS", fromEnvironment = "TREFFPUNKT_REMOVAL_BAR_SECONDS"),
    (name = "TREFFPUNKT_GUEST_POLICY", fromEnvironment = "TREFFPUNKT_GUEST_POLICY"),
    (name = "TREFFPUNKT_MESSAGES_PER_SECOND", fromEnvironment = "TREFFPUNKT_MESSAGES_PER_SECOND"),
    (name = "TREFFPUNKT_CONNECTIONS_PER_MINUTE", fromEnvironment = "TREFFPUNKT_CONNECTIONS_PER_MINUTE"),
    (name = "TREFFPUNKT_MAX_PRODUCERS", fromEnvironment = "TREFFPUNKT_MAX_PRODUCERS"),
    (name = "TREFFPUNKT_RESUME_GRACE_MS", fromEnvironment = "TREFFPUNKT_RESUME_GRACE_MS"),
    (name = "TREFFPUNKT_MEDIA_OPERATORS", fromEnvironment = "TREFFPUNKT_MEDIA_OPERATORS"),
    (name = "TREFFPUNKT_MEDIA_JURISDICTIONS", fromEnvironment = "TREFFPUNKT_MEDIA_JURISDICTIONS"),
    (name = "TREFFPUNKT_MAX_TRANSPORTS", fromEnvironment = "TREFFPUNKT_MAX_TRANSPORTS"),
    (name = "TREFFPUNKT_MAX_CONSUMERS", fromEnvironment = "TREFFPUNKT_MAX_CONSUMERS"),
    (name = "TREFFPUNKT_LOBBY_CAPACITY", fromEnvironment = "TREFFPUNKT_LOBBY_CAPACITY"),
    (name = "TREFFPUNKT_JOIN_TIMEOUT_MS", fromEnvironment = "TREFFPUNKT_JOIN_TIMEOUT_MS"),
    (name = "TREFFPUNKT_HANDOVER_DEADLINE_MS", fromEnvironment = "TREFFPUNKT_HANDOVER_DEADLINE_MS"),
    (name = "TREFFPUNKT_SOCKETS_PER_ADDRESS", fromEnvironment = "TREFFPUNKT_SOCKETS_PER_ADDRESS"),
    (name = "TREFFPUNKT_EDGE_URLS", fromEnvironment = "TREFFPUNKT_EDGE_URLS"),
    (name = "TREFFPUNKT_NODE_EVENTS_PER_SECOND", fromEnvironment = "TREFFPUNKT_NODE_EVENTS_PER_SECOND"),
    (name = "TREFFPUNKT_ALLOW_INSECURE_HTTP", fromEnvironment = "TREFFPUNKT_ALLOW_INSECURE_HTTP"),
  ],
  durableObjectNamespaces = [
    (className = "RoomObject", uniqueKey = "treffpunkt-room", enableSql = true),
    (className = "NodeRegistryObject", uniqueKey = "treffpunkt-registry", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "do-storage"),
  globalOutbound = "internet",
);
