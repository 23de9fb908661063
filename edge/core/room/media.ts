/**
 * A participant's media requests, proxied to the media node it is on: transports, producers, consumers.
 * The edge checks that every id belongs to the asking participant and holds the per-participant limits;
 * the node does the media. Producers on another node are piped over first (pipes.ts).
 */
import type { MediaEvent } from '../../../shared/control.ts';
import { ErrorCode, TreffpunktError } from '../../../shared/errors.ts';
import type { RtpCapabilities } from '../../../shared/media-types.ts';
import type { JoinMedia, JoinResult, MadeTransport, Method } from '../../../shared/signaling.ts';
import type { Connection } from '../connection.ts';
import { errorFields } from '../logger.ts';
import type { MediaNodeClient } from '../media-node-client.ts';
import { joined, type Handlers, type RoomContext } from './context.ts';
import type { Participant } from './participant.ts';
import type { RoomPipes } from './pipes.ts';
import type { Presence } from './presence.ts';

const MEDIA_METHODS = [
  'createTransport',
  'connectTransport',
  'restartIce',
  'produce',
  'setProducerPaused',
  'setConsumerLayers',
  'closeProducer',
  'consume',
  'resumeConsumer',
] as const satisfies readonly Method[];

export type MediaMethod = (typeof MEDIA_METHODS)[number];

/** Control call fields that older media nodes do not know (RoomMedia.#withNewer). */
type NewerField = 'clientDtlsParameters' | 'consumePaused';

/**
 * A participant's own media requests run in its lane (../room-queue.ts), side by side with other
 * participants': each touches the room only through its own transports, producers and consumers, and
 * checks again after its awaits what another lane may have closed meanwhile (consume, ensurePiped).
 */
export function isMediaMethod(method: Method): method is MediaMethod {
  return (MEDIA_METHODS as readonly Method[]).includes(method);
}

export class RoomMedia {
  readonly #ctx: RoomContext;
  readonly #presence: Presence;
  readonly #pipes: RoomPipes;
  /**
   * Control call fields that a node older than them refused (BAD_MESSAGE), by node: that node is asked
   * without them from then on (in this room). createTransport's clientDtlsParameters (then connected by a
   * second call) and consume's paused (then the client resumes the consumer).
   */
  readonly #refused = new Map<string, Set<NewerField>>();

  constructor(ctx: RoomContext, parts: { presence: Presence; pipes: RoomPipes }) {
    this.#ctx = ctx;
    this.#presence = parts.presence;
    this.#pipes = parts.pipes;
  }

  /** The room's router RTP capabilities on a node: fetched once per node, kept with the room state. */
  async routerCapabilities(node: MediaNodeClient): Promise<RtpCapabilities> {
    let caps = this.#ctx.state.routers.capabilities(node.nodeId);
    if (!caps) {
      caps = (await node.call('ensureRouter', { room: this.#ctx.name }, {})).rtpCapabilities;
      this.#ctx.state.routers.remember(node.nodeId, caps);
    }
    return caps;
  }

  /**
   * Pauses or resumes a producer on its node and wherever it is piped to. The caller tells whom
   * (the owner pausing itself tells the others; a moderator's mute tells everyone).
   */
  async setPaused(node: MediaNodeClient, participantId: string, producerId: string, paused: boolean): Promise<void> {
    await node.call('setProducerPaused', { room: this.#ctx.name, producerId }, { paused });
    await this.#pipes.setPaused(producerId, this.#ctx.state.ownProducer(participantId, producerId), paused);
    this.#ctx.state.setProducerPaused(participantId, producerId, paused);
  }

  /**
   * An event from a media node about this room. Only events about producers of participants on that
   * very node are believed: a node cannot speak for another node's participants.
   */
  onNodeEvent(nodeId: string, event: MediaEvent): void {
    const owner = event.producerId === null ? null : this.#ownerOn(nodeId, event.producerId);
    if (owner === undefined) return;
    if (event.type === 'activeSpeaker') this.#presence.broadcast('activeSpeaker', { participantId: owner?.id ?? null });
    else if (owner)
      this.#presence.broadcast('producerScore', {
        participantId: owner.id,
        producerId: event.producerId,
        score: event.score,
      });
  }

  #ownerOn(nodeId: string, producerId: string) {
    for (const p of this.#ctx.state.participants.values())
      if (p.nodeId === nodeId && p.producers.has(producerId)) return p;
    return undefined;
  }

  /**
   * The transports a `join` asked for (JoinMedia), made side by side in the new participant's lane, each
   * connected at once when the client sent its DTLS parameters: in the same node call (createTransport's
   * `clientDtlsParameters`), or with connectTransport after it on a node that does not know that field
   * yet. One that fails is left out (logged): the client then asks for it with `createTransport`, as
   * without `media`.
   */
  async joinTransports(conn: Connection, media: JoinMedia): Promise<JoinResult['transports']> {
    const { name, deps, state } = this.#ctx;
    const p = joined(state, conn);
    const made = await Promise.all(
      media.transports.map(async (direction) => {
        try {
          const { connected, ...transport } = await this.#makeTransport(p, direction, media.dtlsParameters);
          if (connected !== undefined || !media.dtlsParameters)
            return [direction, { ...transport, connected: connected ?? false }] as const;
          const node = await deps.nodes.client(p.nodeId);
          const connectedAfter = await node
            .call(
              'connectTransport',
              { room: name, transportId: transport.id },
              { dtlsParameters: media.dtlsParameters },
            )
            .then(() => true)
            .catch((err: unknown) => {
              deps.log.debug({ room: name, ...errorFields(err) }, 'connecting a join transport failed');
              return false;
            });
          return [direction, { ...transport, connected: connectedAfter }] as const;
        } catch (err) {
          deps.log.warn({ room: name, participant: p.id, direction, ...errorFields(err) }, 'join transport not made');
          return undefined;
        }
      }),
    );
    return Object.fromEntries(made.filter((m) => m !== undefined));
  }

  /**
   * Makes a transport on the participant's node. `clientDtlsParameters`: connect it in the same call;
   * `connected` is undefined when the node did not (a node older than that field: this room then asks
   * that node without it). The TURN credentials are minted while the node makes the transport.
   */
  async #makeTransport(
    p: Participant,
    direction: 'send' | 'recv',
    clientDtlsParameters?: JoinMedia['dtlsParameters'],
  ): Promise<MadeTransport & { connected?: boolean }> {
    const { name, deps, state } = this.#ctx;
    if (p.transports.size >= deps.maxTransports)
      this.#limit(p.id, 'transports', `at most ${deps.maxTransports} transports per participant`);
    const nodeId = p.nodeId;
    const node = await deps.nodes.client(nodeId);
    const create = (withDtls: boolean) =>
      node.call(
        'createTransport',
        { room: name },
        { participantId: p.id, direction, ...(withDtls ? { clientDtlsParameters } : {}) },
      );
    const [made, iceServers] = await Promise.all([
      this.#withNewer(nodeId, 'clientDtlsParameters', clientDtlsParameters !== undefined, create),
      deps.nodes.iceServers(nodeId, turnIdentity(p)),
    ]);
    const { connected, ...transport } = made;
    state.addTransport(p.id, transport.id, direction);
    return {
      ...transport,
      iceServers,
      ...(iceServers.length ? { iceServersExpireIn: deps.nodes.turnCredentialTtlSeconds } : {}),
      ...(connected !== undefined ? { connected } : {}),
    };
  }

  /**
   * A node call with a field newer nodes know (`use`: the caller has it to send), or without it on a
   * node that refused it once: an older node's strict schema answers BAD_MESSAGE, and then the call
   * goes again without the field, at once and from then on.
   */
  async #withNewer<T>(
    nodeId: string,
    field: NewerField,
    use: boolean,
    call: (withField: boolean) => Promise<T>,
  ): Promise<T> {
    if (!use || this.#refused.get(nodeId)?.has(field)) return call(false);
    try {
      return await call(true);
    } catch (err) {
      if (!(err instanceof TreffpunktError) || err.code !== ErrorCode.BadMessage) throw err;
      let refused = this.#refused.get(nodeId);
      if (!refused) this.#refused.set(nodeId, (refused = new Set()));
      refused.add(field);
      return call(false);
    }
  }

  /** Refuses a request that would pass a per-participant limit, and says so in the log (pseudonymous). */
  #limit(participantId: string, what: string, message: string): never {
    this.#ctx.deps.log.warn(
      { security: true, event: 'limitExceeded', room: this.#ctx.name, participant: participantId, limit: what },
      'security: limit reached, request refused',
    );
    throw new TreffpunktError(ErrorCode.LimitExceeded, message);
  }

  readonly handlers: Handlers<MediaMethod> = {
    createTransport: async (conn, { direction }) => this.#makeTransport(joined(this.#ctx.state, conn), direction),

    connectTransport: async (conn, { transportId, dtlsParameters }) => {
      const p = joined(this.#ctx.state, conn);
      this.#ctx.state.requireTransport(p.id, transportId);
      const node = await this.#ctx.deps.nodes.client(p.nodeId);
      return node.call('connectTransport', { room: this.#ctx.name, transportId }, { dtlsParameters });
    },

    restartIce: async (conn, { transportId }) => {
      const p = joined(this.#ctx.state, conn);
      this.#ctx.state.requireTransport(p.id, transportId);
      const node = await this.#ctx.deps.nodes.client(p.nodeId);
      const { iceParameters } = await node.call('restartIce', { room: this.#ctx.name, transportId }, {});
      // Fresh TURN credentials: an allocation ends with the credential that made it, so a long meeting
      // renews them with a restart (the client does so before they expire).
      const iceServers = await this.#ctx.deps.nodes.iceServers(p.nodeId, turnIdentity(p));
      return {
        iceParameters,
        iceServers,
        ...(iceServers.length ? { iceServersExpireIn: this.#ctx.deps.nodes.turnCredentialTtlSeconds } : {}),
      };
    },

    produce: async (conn, { transportId, kind, rtpParameters, source }) => {
      const { name, deps, state } = this.#ctx;
      const p = joined(state, conn);
      state.requireTransport(p.id, transportId, 'send');
      if (p.producers.size >= deps.maxProducers)
        throw new TreffpunktError(ErrorCode.LimitExceeded, `at most ${deps.maxProducers} producers per participant`);
      const node = await deps.nodes.client(p.nodeId);
      const { producerId } = await node.call('produce', { room: name, transportId }, { kind, rtpParameters, source });
      state.addProducer(p.id, producerId, { kind, source, paused: false });
      this.#presence.broadcast('producerAdded', { participantId: p.id, producerId, kind, source }, p.id);
      return { producerId };
    },

    setProducerPaused: async (conn, { producerId, paused }) => {
      const p = joined(this.#ctx.state, conn);
      this.#ctx.state.ownProducer(p.id, producerId);
      const node = await this.#ctx.deps.nodes.client(p.nodeId);
      await this.setPaused(node, p.id, producerId, paused);
      this.#presence.broadcast('producerPaused', { participantId: p.id, producerId, paused }, p.id);
      return {};
    },

    setConsumerLayers: async (conn, { consumerId, spatialLayer, temporalLayer }) => {
      const p = joined(this.#ctx.state, conn);
      this.#ctx.state.requireConsumer(p.id, consumerId);
      const node = await this.#ctx.deps.nodes.client(p.nodeId);
      return node.call(
        'setConsumerLayers',
        { room: this.#ctx.name, consumerId },
        temporalLayer === undefined ? { spatialLayer } : { spatialLayer, temporalLayer },
      );
    },

    closeProducer: async (conn, { producerId }) => {
      const { name, deps, state } = this.#ctx;
      const p = joined(state, conn);
      const producer = state.ownProducer(p.id, producerId);
      state.removeProducer(p.id, producerId);
      await this.#pipes.closeCopies(producerId, producer);
      const node = await deps.nodes.client(p.nodeId);
      await node.call('closeProducer', { room: name, producerId }, {});
      this.#presence.broadcast('producerClosed', { participantId: p.id, producerId }, p.id);
      return {};
    },

    consume: async (conn, { transportId, producerId, rtpCapabilities, paused }) => {
      const { name, deps, state } = this.#ctx;
      const p = joined(state, conn);
      state.requireTransport(p.id, transportId, 'recv');
      const owner = state.producerOwner(producerId);
      if (!owner.nodeId || !p.nodeId)
        throw new TreffpunktError(ErrorCode.NoMediaNode, 'this media is moving to another node; wait for mediaMoved');
      // One consumer per producer: a second consume of it (a reply lost with the old socket, a replaced
      // transport) replaces the first, which is closed on the node; so repeats cannot pile up consumers.
      const previous = state.consumerOf(p.id, producerId);
      if (previous === undefined && p.consumers.size >= deps.maxConsumers)
        this.#limit(p.id, 'consumers', `at most ${deps.maxConsumers} consumers per participant`);
      // On another node: pipe it here first (once per node, whoever consumes it).
      await this.#pipes.ensurePiped(producerId, owner.producers.get(producerId)!, owner.nodeId, p.nodeId);
      const node = await deps.nodes.client(p.nodeId);
      const made = await this.#withNewer(p.nodeId, 'consumePaused', paused === false, (running) =>
        node.call(
          'consume',
          { room: name, transportId },
          { producerId, rtpCapabilities, ...(running ? { paused } : {}) },
        ),
      );
      // A node older than the field made it paused, and says nothing of it.
      const consumer = { ...made, paused: made.paused ?? true };
      if (!state.hasProducer(producerId)) {
        // Closed by its owner's lane while this consume waited for the node: the node closes such a
        // consumer with its producer, but the room must not keep it.
        await node.call('closeConsumer', { room: name, consumerId: consumer.consumerId }, {}).catch(() => {});
        throw new TreffpunktError(ErrorCode.NotFound, `producer ${producerId} was closed`);
      }
      if (previous !== undefined) {
        state.removeConsumer(p.id, previous);
        await node
          .call('closeConsumer', { room: name, consumerId: previous }, {})
          .catch((err: unknown) =>
            deps.log.debug({ room: name, ...errorFields(err) }, 'closing a replaced consumer failed'),
          );
        this.#presence.sendTo(p.id, 'consumerClosed', { consumerId: previous });
      }
      state.addConsumer(p.id, consumer.consumerId, producerId);
      return consumer;
    },

    resumeConsumer: async (conn, { consumerId }) => {
      const p = joined(this.#ctx.state, conn);
      this.#ctx.state.requireConsumer(p.id, consumerId);
      const node = await this.#ctx.deps.nodes.client(p.nodeId);
      return node.call('resumeConsumer', { room: this.#ctx.name, consumerId }, {});
    },
  };
}

/**
 * Whose TURN quota an allocation counts against: the token identity (issuer and subject, see join-tokens.ts)
 * for a token holder, so that joining again with a new participant id does not reset it; a guest has no
 * identity beyond the join, so a guest counts per participant id.
 */
function turnIdentity(p: { id: string; identity?: string | undefined }): string {
  return p.identity ?? p.id;
}
