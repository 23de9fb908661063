/**
 * The control operations of this node, served the same way however a call comes: as a signed HTTP request
 * to the control API (control-api.ts) or as a call frame on the node link (edge-link.ts, issue 14). One
 * place takes (op, ids, body), checks them by the shared control table (shared/control.ts) and answers the
 * response or a stable error code with its HTTP status; nothing a caller sends can make it throw.
 */
import type { Logger } from '../shared/logger.ts';
import { control, type ControlBody, type ControlIds, type ControlOp, type ControlResponse } from '../shared/control.ts';
import { ErrorCode, httpStatusOf, TreffpunktError } from '../shared/errors.ts';
import { controlBody, routeIds } from './control-request.ts';
import type { MediaRooms } from './media-rooms.ts';

/** What serves one control operation: its route's parameters (checked) and its body (parsed). */
type ControlHandler<O extends ControlOp> = (ids: ControlIds<O>, body: ControlBody<O>) => Promise<ControlResponse<O>>;
/** A handler for every operation of the control table: one missing does not compile. */
export type ControlHandlers = { [O in ControlOp]: ControlHandler<O> };

/** How a control call ended: its response, or an error body and the HTTP status that goes with it. */
export type ControlOutcome =
  | { ok: true; response: unknown }
  | { ok: false; status: number; error: { code: ErrorCode; message: string } };

/** The control operations over `rooms`. */
export function controlHandlers(rooms: MediaRooms): ControlHandlers {
  return {
    ensureRouter: async ({ room }) => ({ rtpCapabilities: (await rooms.getOrCreate(room)).rtpCapabilities }),
    createTransport: async ({ room }, body) => (await rooms.getOrCreate(room)).createTransport(body),
    connectTransport: ({ room, transportId }, body) => rooms.get(room).connectTransport(transportId, body),
    restartIce: ({ room, transportId }) => rooms.get(room).restartIce(transportId),
    produce: ({ room, transportId }, body) => rooms.get(room).produce(transportId, body),
    consume: ({ room, transportId }, body) => rooms.get(room).consume(transportId, body),
    closeProducer: async ({ room, producerId }) => (await rooms.find(room)?.closeProducer(producerId)) ?? {},
    setProducerPaused: ({ room, producerId }, body) => rooms.get(room).setProducerPaused(producerId, body),
    setConsumerLayers: ({ room, consumerId }, body) => rooms.get(room).setConsumerLayers(consumerId, body),
    closeConsumer: async ({ room, consumerId }) => rooms.find(room)?.closeConsumer(consumerId) ?? {},
    resumeConsumer: ({ room, consumerId }) => rooms.get(room).resumeConsumer(consumerId),
    closeParticipant: async ({ room, participantId }) =>
      (await rooms.find(room)?.closeParticipant(participantId)) ?? {},
    createPipe: async ({ room, peerNodeId }) => (await rooms.getOrCreate(room)).pipes.create(peerNodeId),
    connectPipe: ({ room, peerNodeId }, body) => rooms.get(room).pipes.connect(peerNodeId, body),
    pipeConsume: ({ room, peerNodeId }, body) => rooms.get(room).pipes.consume(peerNodeId, body),
    pipeProduce: ({ room, peerNodeId }, body) => rooms.get(room).pipes.produce(peerNodeId, body),
    closePipe: async ({ room, peerNodeId }) => rooms.find(room)?.pipes.close(peerNodeId) ?? {},
    closeRoom: async ({ room }) => {
      rooms.close(room);
      return {};
    },
  };
}

const isControlOp = (op: string): op is ControlOp => Object.hasOwn(control, op);

export class ControlCalls {
  readonly #handlers: ControlHandlers;
  readonly #log: Logger;

  constructor(handlers: ControlHandlers, log: Logger) {
    this.#handlers = handlers;
    this.#log = log;
  }

  /**
   * Serves `op`: `param` reads each of its route's parameters (decoded), `json` the body (rejecting when
   * it is not JSON). The room name, the peer id, then the body, then the room itself are checked, in that
   * order, so that a malformed call is BAD_MESSAGE/BAD_JSON before it can be NOT_FOUND. Never rejects.
   */
  async run(op: string, param: (name: string) => string | undefined, json: () => unknown): Promise<ControlOutcome> {
    try {
      if (!isControlOp(op)) throw new TreffpunktError(ErrorCode.NotFound, 'not found');
      const ids = routeIds(control[op].route, param);
      const body = await controlBody(op, json);
      const run = this.#handlers[op] as (ids: Record<string, string>, body: unknown) => Promise<unknown>;
      return { ok: true, response: await run(ids, body) };
    } catch (err) {
      return errorOutcome(err, this.#log, { op });
    }
  }
}

/**
 * The error body and status for anything a control request threw: a TreffpunktError as its code; what
 * mediasoup refuses (TypeError, UnsupportedError: the caller's parameters) as MEDIA_NODE_ERROR with its
 * message, which is safe to pass on; anything else as MEDIA_NODE_ERROR without detail (a stack never
 * leaves the node), logged.
 */
export function errorOutcome(err: unknown, log: Logger, where: Record<string, string>): ControlOutcome & { ok: false } {
  if (err instanceof TreffpunktError)
    return { ok: false, status: httpStatusOf(err.code), error: { code: err.code, message: err.message } };
  const e = err as Error;
  if (e?.name === 'TypeError' || e?.name === 'UnsupportedError') {
    log.warn({ ...where, err: e.message }, 'control request refused by mediasoup');
    return {
      ok: false,
      status: 400,
      error: { code: ErrorCode.MediaNodeError, message: String(e.message).slice(0, 300) },
    };
  }
  log.error({ ...where, err: { message: e?.message, stack: e?.stack } }, 'control request failed');
  return { ok: false, status: 500, error: { code: ErrorCode.MediaNodeError, message: 'media operation failed' } };
}
