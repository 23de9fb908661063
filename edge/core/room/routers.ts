/**
 * The room's routers on media nodes, part of RoomState: the router RTP capabilities per node (fetched
 * once per node), which node pairs are piped together, and the nodes the room left behind while they
 * were unreachable (told to close the room once they are back). Saved with the room's snapshot.
 */
import type { RtpCapabilities } from '../../../shared/media-types.ts';

/** A node pair's key: "a|b", sorted, so that both directions name one link. */
const linkKey = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);

export class RoomRouters {
  readonly #capabilities = new Map<string, RtpCapabilities>();
  /** Node pairs whose PipeTransports for this room are connected. */
  readonly #links = new Set<string>();
  /** Nodes this room left while they were unreachable. */
  readonly #abandoned = new Set<string>();

  capabilities(nodeId: string): RtpCapabilities | undefined {
    return this.#capabilities.get(nodeId);
  }

  /** Any node's capabilities: for a participant without a node, until mediaMoved brings its own. */
  anyCapabilities(): RtpCapabilities | undefined {
    return this.#capabilities.values().next().value;
  }

  remember(nodeId: string, capabilities: RtpCapabilities): void {
    this.#capabilities.set(nodeId, capabilities);
  }

  /** Nodes the room has (or had) a router on. */
  nodeIds(): string[] {
    return [...this.#capabilities.keys()];
  }

  /** The room's router on this node is gone (the room moved off it). */
  forget(nodeId: string): void {
    this.#capabilities.delete(nodeId);
  }

  /** The room is empty and closed on its nodes: the next participant starts afresh. */
  forgetAll(): void {
    this.#capabilities.clear();
    this.#links.clear();
  }

  isLinked(a: string, b: string): boolean {
    return this.#links.has(linkKey(a, b));
  }

  link(a: string, b: string): void {
    this.#links.add(linkKey(a, b));
  }

  /** Drops every link of `nodeId`; returns the nodes at their other ends. */
  unlink(nodeId: string): string[] {
    const peers: string[] = [];
    for (const key of [...this.#links]) {
      const [a, b] = key.split('|') as [string, string];
      if (a !== nodeId && b !== nodeId) continue;
      this.#links.delete(key);
      peers.push(a === nodeId ? b : a);
    }
    return peers;
  }

  /** Nodes at either end of a link. */
  linkedNodeIds(): string[] {
    return [...this.#links].flatMap((k) => k.split('|'));
  }

  /** The room left this node without being able to close itself there. */
  abandon(nodeId: string): void {
    this.#abandoned.add(nodeId);
  }

  /** The node carries a participant again, or the room closed itself there: it is not left behind. */
  reclaim(nodeId: string): void {
    this.#abandoned.delete(nodeId);
  }

  isAbandoned(nodeId: string): boolean {
    return this.#abandoned.has(nodeId);
  }

  abandonedNodeIds(): string[] {
    return [...this.#abandoned];
  }

  toSnapshot() {
    return { routerCaps: [...this.#capabilities], links: [...this.#links], abandoned: [...this.#abandoned] };
  }

  restore(snapshot: {
    routerCaps: [string, RtpCapabilities][];
    links?: string[] | undefined;
    abandoned?: string[] | undefined;
  }): void {
    for (const [nodeId, caps] of snapshot.routerCaps) this.#capabilities.set(nodeId, caps);
    for (const l of snapshot.links ?? []) this.#links.add(l);
    for (const n of snapshot.abandoned ?? []) this.#abandoned.add(n);
  }
}
