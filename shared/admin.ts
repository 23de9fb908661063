/**
 * The edge's admin API (docs/admin-api.md): what an operator's tools send and get back, defined once here
 * and parsed on both sides (edge/core/admin/routes.ts, scripts/admin.ts). Participants appear by their
 * pseudonymous ids and roles only: no display names, no token identities.
 */
import { z } from 'zod';
import { Jurisdiction, NodeLoad } from './control.ts';
import { Id, NodeId, OperatorId, RoomName } from './ids.ts';
import { Role } from './signaling.ts';

/** The header that carries the admin token (`Authorization: Bearer <token>`). */
export const ADMIN_AUTH_HEADER = 'authorization';

export const AdminParticipant = z.object({
  id: Id,
  role: Role,
  /** The participant's media node; '' while none may carry it. */
  nodeId: z.string(),
  joinedAt: z.number().int(),
  /** false while the socket is down and the participant may still `resume`. */
  connected: z.boolean(),
});
export type AdminParticipant = z.infer<typeof AdminParticipant>;

export const AdminRoom = z.object({
  name: RoomName,
  participants: z.array(AdminParticipant),
  /** How many wait in the lobby. */
  lobby: z.number().int().min(0),
  locked: z.boolean(),
});
export type AdminRoom = z.infer<typeof AdminRoom>;

export const AdminRooms = z.object({ rooms: z.array(AdminRoom) });
export type AdminRooms = z.infer<typeof AdminRooms>;

export const AdminNode = z.object({
  nodeId: NodeId,
  status: z.enum(['up', 'draining', 'lost', 'pending']),
  region: z.string(),
  operator: z.string(),
  jurisdiction: Jurisdiction.optional(),
  controlUrl: z.string(),
  heartbeatAgeMs: z.number().int().min(0),
  load: NodeLoad,
});
export type AdminNode = z.infer<typeof AdminNode>;

export const AdminNodes = z.object({ nodes: z.array(AdminNode) });
export type AdminNodes = z.infer<typeof AdminNodes>;

export const LogLevel = z.enum(['debug', 'info', 'warn', 'error', 'silent']);
export type LogLevel = z.infer<typeof LogLevel>;

/** Body of `PUT /admin/v1/log-level`. */
export const AdminLogLevel = z.object({ level: LogLevel }).strict();

/** What an action answers: `ended` participants of a room, or the node that now drains. */
export const AdminDone = z.object({ ok: z.literal(true), affected: z.number().int().min(0) });
export type AdminDone = z.infer<typeof AdminDone>;

/**
 * Body of `PUT /admin/v1/nodes/:nodeId/credentials`: one entry of TREFFPUNKT_NODE_SECRETS' JSON form
 * (edge/core/config.ts): `secret` is `current` or `current|previous` during a rotation, each at least 16
 * characters; the pins fix what the node may not claim otherwise. The edge checks the entry again as the
 * whole file (e.g. a plain http controlOrigin beyond loopback).
 */
export const AdminNodeCredentials = z
  .object({
    secret: z
      .string()
      .max(1024)
      .refine((s) => {
        const parts = s.split('|');
        return parts.length <= 2 && parts.every((p) => p.length >= 16);
      }, 'must be one secret, or two separated by "|", each at least 16 characters'),
    operator: OperatorId.optional(),
    jurisdiction: Jurisdiction.optional(),
    controlOrigin: z.string().max(300).optional(),
  })
  .strict();
export type AdminNodeCredentials = z.infer<typeof AdminNodeCredentials>;

/** What a node's credentials pin (never its secret). */
export const AdminNodePins = z.object({
  operator: z.string().optional(),
  jurisdiction: z.string().optional(),
  controlOrigin: z.string().optional(),
});

/** A node the edge has credentials for: its id and pins, never its secret. */
export const AdminNodeCredential = z.object({ nodeId: NodeId, pins: AdminNodePins });
export type AdminNodeCredential = z.infer<typeof AdminNodeCredential>;

export const AdminNodeCredentialList = z.object({ credentials: z.array(AdminNodeCredential) });

/** What adding, replacing or revoking a node's credentials answers: never the secret. */
export const AdminNodeCredentialsDone = z.object({
  ok: z.literal(true),
  nodeId: NodeId,
  action: z.enum(['added', 'replaced', 'revoked']),
  pins: AdminNodePins,
});
export type AdminNodeCredentialsDone = z.infer<typeof AdminNodeCredentialsDone>;

/** The admin routes, one place for the edge and the CLI. */
export const adminRoutes = {
  rooms: '/admin/v1/rooms',
  room: '/admin/v1/rooms/:room',
  participant: '/admin/v1/rooms/:room/participants/:participantId',
  nodes: '/admin/v1/nodes',
  drain: '/admin/v1/nodes/:nodeId/drain',
  nodeCredentialList: '/admin/v1/node-credentials',
  nodeCredentials: '/admin/v1/nodes/:nodeId/credentials',
  logLevel: '/admin/v1/log-level',
} as const;
