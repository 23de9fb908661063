/**
 * Reading a control request, however it came (an HTTP request, a call frame on the node link): its route
 * parameters and its body, each checked by the shared control schema before it reaches a room (a bad one
 * is BAD_MESSAGE or BAD_JSON, never a mediasoup error).
 */
import type { Context } from 'hono';
import { control, NodeId, RoomName, type ControlBody, type ControlOp } from '../shared/control.ts';
import { ErrorCode, TreffpunktError } from '../shared/errors.ts';

function checkRoom(value: string | undefined): string {
  const r = RoomName.safeParse(value);
  if (!r.success) throw new TreffpunktError(ErrorCode.BadMessage, 'bad room name');
  return r.data;
}

function checkPeer(value: string | undefined): string {
  const r = NodeId.safeParse(value);
  if (!r.success) throw new TreffpunktError(ErrorCode.BadMessage, 'bad peer node id');
  return r.data;
}

/** The `:room` parameter. */
export function roomParam(c: Context): string {
  return checkRoom(c.req.param('room'));
}

/** The `:peerNodeId` parameter: the id of the media node at the other end of a pipe. */
export function peerParam(c: Context): string {
  return checkPeer(c.req.param('peerNodeId'));
}

/**
 * The parameters of `route`, each read by `param` (decoded): `:room` and `:peerNodeId` checked (in that
 * order), the other ids (transports, producers, consumers, participants) as given: the room looks them up.
 * One missing is BAD_MESSAGE.
 */
export function routeIds(route: string, param: (name: string) => string | undefined): Record<string, string> {
  const ids: Record<string, string> = {};
  for (const [, name] of route.matchAll(/:([A-Za-z]+)/g)) {
    if (name === 'room') ids[name] = checkRoom(param(name));
    else if (name === 'peerNodeId') ids[name] = checkPeer(param(name));
    else {
      const value = param(name!);
      if (value === undefined) throw new TreffpunktError(ErrorCode.BadMessage, `missing ${name}`);
      ids[name!] = value;
    }
  }
  return ids;
}

/** The body of a control operation, parsed by its schema; `json` rejects when the body is not JSON. */
export async function controlBody<O extends ControlOp>(op: O, json: () => unknown): Promise<ControlBody<O>> {
  let value: unknown;
  try {
    value = await json();
  } catch {
    throw new TreffpunktError(ErrorCode.BadJson, 'body is not valid JSON');
  }
  const parsed = control[op].body.safeParse(value);
  if (!parsed.success)
    throw new TreffpunktError(ErrorCode.BadMessage, `invalid ${op} body: ${parsed.error.issues[0]?.message}`);
  return parsed.data as ControlBody<O>;
}
