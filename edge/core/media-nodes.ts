/**
 * Turns the registry, the per-node secrets and a selection strategy into media node clients: what a room
 * needs to place a participant and to talk to the node it is on.
 */
import { ErrorCode, TreffpunktError } from '../../shared/errors.ts';
import { MediaNodeClient } from './media-node-client.ts';
import type { NodeRegistry } from './node-registry.ts';
import type { NodeSelector, SelectionRequest } from './node-selection.ts';
import { mintTurnCredentials, type TurnIceServer } from './turn-credentials.ts';

export class MediaNodes {
  readonly #registry: NodeRegistry;
  readonly #secrets: ReadonlyMap<string, readonly string[]>;
  readonly #select: NodeSelector;

  readonly #turnTtlSeconds: number;

  constructor(registry: NodeRegistry, secrets: ReadonlyMap<string, readonly string[]>, select: NodeSelector, turnTtlSeconds: number) {
    this.#registry = registry;
    this.#secrets = secrets;
    this.#select = select;
    this.#turnTtlSeconds = turnTtlSeconds;
  }

  async select(request: SelectionRequest): Promise<MediaNodeClient> {
    const node = this.#select(await this.#registry.healthy(Date.now()), request);
    if (!node) throw new TreffpunktError(ErrorCode.NoMediaNode, 'no media node is available, try again shortly');
    return this.#client(node.nodeId, node.controlUrl);
  }

  async client(nodeId: string): Promise<MediaNodeClient> {
    const node = await this.#registry.get(nodeId);
    if (!node) throw new TreffpunktError(ErrorCode.NoMediaNode, `media node ${nodeId} is gone`);
    return this.#client(nodeId, node.controlUrl);
  }

  /**
   * TURN credentials for a participant on its node, valid for `turnCredentialTtlSeconds`; none when the
   * node runs no TURN service.
   */
  async iceServers(nodeId: string, participantId: string): Promise<TurnIceServer[]> {
    const node = await this.#registry.get(nodeId);
    if (!node?.turn) return [];
    return [await mintTurnCredentials({ secret: node.turn.secret, urls: node.turn.urls, participantId, ttlSeconds: this.#turnTtlSeconds, now: Date.now() })];
  }

  #client(nodeId: string, controlUrl: string): MediaNodeClient {
    const secret = this.#secrets.get(nodeId)?.[0];
    if (!secret) throw new TreffpunktError(ErrorCode.NoMediaNode, `media node ${nodeId} has no configured secret`);
    return new MediaNodeClient({ nodeId, controlUrl, secret });
  }
}
