/**
 * The edge cluster's settings (issue 12): the cluster is on when TREFFPUNKT_NATS_URL is set. Parsed once,
 * from the environment, like the Node edge's own settings; secrets (password, token) never logged.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ConfigError, describeIssues } from '../core/config.ts';

/** Edge ids become part of NATS subjects (treffpunkt.edge.<id>.out): no dots, wildcards or spaces. */
export const EdgeId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'edge ids are 1-64 letters, digits, - or _');

export const ClusterEnv = z.object({
  TREFFPUNKT_NATS_URL: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean),
    )
    .pipe(
      z
        .array(z.string().regex(/^(nats|tls):\/\/[^\s,]+$/, 'each server is nats://host:port or tls://host:port'))
        .min(1),
    ),
  TREFFPUNKT_NATS_CREDS: z.string().min(1).optional(),
  TREFFPUNKT_NATS_USER: z.string().min(1).optional(),
  TREFFPUNKT_NATS_PASSWORD: z.string().min(1).optional(),
  TREFFPUNKT_NATS_TOKEN: z.string().min(1).optional(),
  TREFFPUNKT_NATS_TLS_CA: z.string().min(1).optional(),
  TREFFPUNKT_NATS_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  TREFFPUNKT_EDGE_ID: EdgeId.optional(),
  TREFFPUNKT_ROOM_LEASE_MS: z.coerce.number().int().min(1_000).max(60_000).default(6_000),
});

export interface ClusterSettings {
  servers: string[];
  auth: { creds?: string; user?: string; password?: string; token?: string };
  tlsCa?: string;
  /** JetStream replicas of the two buckets: 3 on a 3-server cluster (survives one server), 1 on one server. */
  replicas: number;
  edgeId: string;
  /** How long a room lease lives on the server without renewal (the bucket's max_age). */
  leaseMs: number;
}

/** The cluster settings, or undefined when TREFFPUNKT_NATS_URL is not set (a lone edge). */
export function parseClusterSettings(env: Record<string, string | undefined>): ClusterSettings | undefined {
  if (!env.TREFFPUNKT_NATS_URL) return undefined;
  const parsed = ClusterEnv.safeParse(env);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error));
  const e = parsed.data;
  if ((e.TREFFPUNKT_NATS_USER === undefined) !== (e.TREFFPUNKT_NATS_PASSWORD === undefined))
    throw new ConfigError(['TREFFPUNKT_NATS_USER and TREFFPUNKT_NATS_PASSWORD: set both or neither']);
  return {
    servers: e.TREFFPUNKT_NATS_URL,
    auth: {
      ...(e.TREFFPUNKT_NATS_CREDS ? { creds: e.TREFFPUNKT_NATS_CREDS } : {}),
      ...(e.TREFFPUNKT_NATS_USER ? { user: e.TREFFPUNKT_NATS_USER, password: e.TREFFPUNKT_NATS_PASSWORD } : {}),
      ...(e.TREFFPUNKT_NATS_TOKEN ? { token: e.TREFFPUNKT_NATS_TOKEN } : {}),
    },
    ...(e.TREFFPUNKT_NATS_TLS_CA ? { tlsCa: e.TREFFPUNKT_NATS_TLS_CA } : {}),
    replicas: e.TREFFPUNKT_NATS_REPLICAS,
    // Host name plus a random part: two edges on one host (or a restarted edge) never share an id.
    edgeId:
      e.TREFFPUNKT_EDGE_ID ??
      `${hostname()
        .replace(/[^A-Za-z0-9_-]/g, '-')
        .slice(0, 48)}-${randomBytes(4).toString('hex')}`,
    leaseMs: e.TREFFPUNKT_ROOM_LEASE_MS,
  };
}
