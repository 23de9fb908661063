/**
 * Reading a control request: its path parameters and its body, each checked by the shared control schema
 * before it reaches a room (a bad one is BAD_MESSAGE or BAD_JSON, never a mediasoup error).
 */
import type { Context } from 'hono';
import { control, NodeId, RoomName, type ControlBody, type ControlOp } from '../shared/control.ts';
import { ErrorCode, TreffpunktError } from '../shared/errors.ts';

/** The `:room` parameter. */
export function roomParam(c: Context): string {
  const r = RoomName.safeParse(c.req.param('room'));
  if (!r.success) throw new TreffpunktError(ErrorCode.BadMessage, 'bad room name');
  return r.data;
}

/** The `:peerNodeId` parameter: the id of the media node at the other end of a pipe. */
export function peerParam(c: Context): string {
  const r = NodeId.safeParse(c.req.param('peerNodeId'));
  if (!r.success) throw new TreffpunktError(ErrorCode.BadMessage, 'bad peer node id');
  return r.data;
}

/**
 * The parameters of `route` in the request: `:room` and `:peerNodeId` checked (in that order), the
 * other ids (transports, producers, consumers, participants) as given: the room looks them up.
 */
export function routeIds(c: Context, route: string): Record<string, string> {
  const ids: Record<string, string> = {};
  for (const [, name] of route.matchAll(/:([A-Za-z]+)/g)) {
    if (name === 'room') ids[name] = roomParam(c);
    else if (name === 'peerNodeId') ids[name] = peerParam(c);
    else ids[name!] = c.req.param(name!) as string;
  }
  return ids;
}

/** The body of a control operation, parsed by its schema. */
export async function controlBody<O extends ControlOp>(c: Context, op: O): Promise<ControlBody<O>> {
  let json: unknown;
  try {
    json = await c.req.json();
  } catch {
    throw new TreffpunktError(ErrorCode.BadJson, 'body is not valid JSON');
  }
  const parsed = control[op].body.safeParse(json);
  if (!parsed.success)
    throw new TreffpunktError(ErrorCode.BadMessage, `invalid ${op} body: ${parsed.error.issues[0]?.message}`);
  return parsed.data as ControlBody<O>;
}
