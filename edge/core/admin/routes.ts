/**
 * The admin API (docs/admin-api.md), runtime-neutral: list rooms and nodes, end a room, remove a
 * participant, drain a node, change the log level. Every route needs the admin token (token.ts); without
 * one configured the routes do not exist. What differs per runtime (where rooms live, the registry, the
 * logger) is an AdminBackend; the Node edge's is edge/node/admin.ts. Every action is logged with what it
 * did, never with the token.
 */
import type { Hono } from 'hono';
import {
  ADMIN_AUTH_HEADER,
  AdminLogLevel,
  AdminNodeCredentials,
  adminRoutes,
  type AdminNodeCredential,
  type AdminNodeCredentialsDone,
  type AdminDone,
  type AdminNode,
  type AdminRoom,
  type LogLevel,
} from '../../../shared/admin.ts';
import { ErrorCode, TreffpunktError } from '../../../shared/errors.ts';
import { Id, NodeId, RoomName } from '../../../shared/ids.ts';
import { ThrottledWarnings } from '../../../shared/throttled-warnings.ts';
import type { Logger } from '../logger.ts';
import { bearerToken, type TokenCheck } from '../../../shared/token-check.ts';

export interface AdminBackend {
  rooms(): Promise<AdminRoom[]>;
  /** Ends the room for everyone; how many participants were in it, or undefined when no such room is open. */
  endRoom(room: string): Promise<number | undefined>;
  /** Removes a participant; false when the room or the participant is not there. */
  removeParticipant(room: string, participantId: string): Promise<boolean>;
  nodes(): Promise<AdminNode[]>;
  /** Marks a node draining (rooms move off it); false when it is not registered. */
  drainNode(nodeId: string): Promise<boolean>;
  /**
   * Media node credentials that can change at run time (the Node edge with TREFFPUNKT_NODE_SECRETS_FILE);
   * absent: they come from the environment. Its methods throw TreffpunktError.
   */
  credentials?: {
    list(): AdminNodeCredential[];
    put(
      nodeId: string,
      entry: AdminNodeCredentials,
    ): { action: 'added' | 'replaced'; pins: AdminNodeCredential['pins'] };
    /** The pins the node had, or undefined when it had no credentials. */
    revoke(nodeId: string): AdminNodeCredential['pins'] | undefined;
  };
  /** Changes the log level at run time, where the runtime's logger can. */
  setLogLevel?(level: LogLevel): void;
}

function param<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }, v: unknown): T {
  const parsed = schema.safeParse(v);
  if (!parsed.success) throw new TreffpunktError(ErrorCode.BadMessage, 'bad path parameter');
  return parsed.data;
}

const notFound = (what: string) => new TreffpunktError(ErrorCode.NotFound, `${what} not found`);
const done = (affected: number): AdminDone => ({ ok: true, affected });

export function registerAdminRoutes(
  app: Hono,
  { token, backend, log }: { token: TokenCheck; backend: AdminBackend; log: Logger },
): void {
  // One line per 10 s with the count of the rest: a token-guessing flood must not become a log flood.
  const refusals = new ThrottledWarnings();
  app.use('/admin/*', async (c, next) => {
    const presented = bearerToken(c.req.header(ADMIN_AUTH_HEADER));
    if (presented === undefined || !(await token.matches(presented))) {
      refusals.warn('adminRefused', (suppressed) =>
        log.warn(
          { security: true, event: 'adminRefused', path: c.req.path.slice(0, 100), suppressed },
          'security: admin request refused',
        ),
      );
      throw new TreffpunktError(ErrorCode.Unauthorized, 'admin token missing or wrong');
    }
    await next();
  });

  app.get(adminRoutes.rooms, async (c) => c.json({ rooms: await backend.rooms() }));

  app.delete(adminRoutes.room, async (c) => {
    const room = param(RoomName, c.req.param('room'));
    const ended = await backend.endRoom(room);
    if (ended === undefined) throw notFound('room');
    log.warn({ admin: true, action: 'endRoom', room, participants: ended }, 'admin: room ended');
    return c.json(done(ended));
  });

  app.delete(adminRoutes.participant, async (c) => {
    const room = param(RoomName, c.req.param('room'));
    const participant = param(Id, c.req.param('participantId'));
    if (!(await backend.removeParticipant(room, participant))) throw notFound('participant');
    log.warn({ admin: true, action: 'removeParticipant', room, participant }, 'admin: participant removed');
    return c.json(done(1));
  });

  app.get(adminRoutes.nodes, async (c) => c.json({ nodes: await backend.nodes() }));

  app.post(adminRoutes.drain, async (c) => {
    const nodeId = param(NodeId, c.req.param('nodeId'));
    if (!(await backend.drainNode(nodeId))) throw notFound('node');
    log.warn({ admin: true, action: 'drainNode', node: nodeId }, 'admin: node drains');
    return c.json(done(1));
  });

  const credentials = () => {
    if (!backend.credentials)
      throw new TreffpunktError(
        ErrorCode.CredentialsNotEditable,
        'media node credentials come from the environment (TREFFPUNKT_NODE_SECRETS) and cannot be changed at run time; use TREFFPUNKT_NODE_SECRETS_FILE',
      );
    return backend.credentials;
  };

  app.get(adminRoutes.nodeCredentialList, (c) => c.json({ credentials: credentials().list() }));

  app.put(adminRoutes.nodeCredentials, async (c) => {
    const nodeId = param(NodeId, c.req.param('nodeId'));
    const store = credentials();
    const body = AdminNodeCredentials.safeParse(await c.req.json().catch(() => undefined));
    if (!body.success) {
      // The fields and rules, never a value: the body holds a secret.
      const fields = [...new Set(body.error.issues.map((i) => i.path.map(String).join('.') || '(body)'))];
      throw new TreffpunktError(
        ErrorCode.BadMessage,
        `expected {"secret": "≥16 chars[|previous]", "operator"?, "jurisdiction"?, "controlOrigin"?}; wrong: ${fields.join(', ')}`,
      );
    }
    const { action, pins } = store.put(nodeId, body.data);
    log.warn(
      { admin: true, action: 'nodeCredentials', node: nodeId, result: action, pins },
      `admin: node credentials ${action}`,
    );
    return c.json({ ok: true, nodeId, action, pins } satisfies AdminNodeCredentialsDone);
  });

  app.delete(adminRoutes.nodeCredentials, (c) => {
    const nodeId = param(NodeId, c.req.param('nodeId'));
    const pins = credentials().revoke(nodeId);
    if (!pins) throw notFound('node credentials');
    log.warn(
      { admin: true, action: 'nodeCredentials', node: nodeId, result: 'revoked' },
      'admin: node credentials revoked',
    );
    return c.json({ ok: true, nodeId, action: 'revoked', pins } satisfies AdminNodeCredentialsDone);
  });

  app.put(adminRoutes.logLevel, async (c) => {
    if (!backend.setLogLevel) throw new TreffpunktError(ErrorCode.NotFound, 'this runtime cannot change its log level');
    const body = AdminLogLevel.safeParse(await c.req.json().catch(() => undefined));
    if (!body.success)
      throw new TreffpunktError(ErrorCode.BadMessage, 'expected {"level": "debug|info|warn|error|silent"}');
    backend.setLogLevel(body.data.level);
    log.warn({ admin: true, action: 'logLevel', level: body.data.level }, 'admin: log level changed');
    return c.json(done(0));
  });
}
