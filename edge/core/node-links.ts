/**
 * The edge's end of the node links (shared/node-link.ts, issue 14): which media nodes hold an open link
 * to this edge, when each was last heard, and when one is dead.
 *
 * - The link closes without the node having said `stopping` (kill -9, a crash: the node's kernel closes
 *   the socket): the node's control API is asked once (its health check). A dead node's port refuses the
 *   connection at once, so this costs one round trip; a link that broke while the node lives (a proxy
 *   restarting) does not move anybody.
 * - The link stays open but silent for `silenceMs` (a frozen node, SIGSTOP; a machine gone without a FIN):
 *   the same health check, which must fail or time out. A busy node that answers it is not lost, nor is a
 *   node that merely looked silent because this edge itself stalled (its pings wait in the socket).
 *
 * Only the node's newest link counts; links this edge closes itself (a newer link, a bad message, its own
 * shutdown) are not deaths. A node without a link is judged by its heartbeats alone, as before.
 *
 * A node that serves control calls on its link (it says so at the upgrade) gets them here: calls(nodeId)
 * is the open link's multiplexer (link-calls.ts), which the media node clients use instead of HTTP. Every
 * close of the link, a death or not, fails its calls in flight at once.
 * Runtime-neutral: timers and the socket ends the adapter hands over (edge/node/node-link-socket.ts).
 */
import {
  type EdgeLinkMessage,
  MAX_LINK_MESSAGE_BYTES,
  NodeLinkMessage,
  parseLinkFrame,
} from '../../shared/node-link.ts';
import { LinkCalls } from './link-calls.ts';
import { errorFields, type Logger } from './logger.ts';
import type { NodeLossReason } from './node-registry.ts';

/** A link's socket as the runtime adapter hands it over. */
export interface LinkSocket {
  send(text: string): void;
  close(code: number, reason: string): void;
}

/** What the adapter tells about one open link. */
export interface NodeLinkHandle {
  message(frame: string): void;
  closed(): void;
}

export interface NodeLinksOptions {
  /** A link silent this long is checked (TREFFPUNKT_NODE_LINK_SILENCE_MS); nodes ping four times as often. */
  silenceMs: number;
  /** The node's health check (its control API's /healthz), bounded in time by the caller. */
  probe(nodeId: string): Promise<boolean>;
  /** The node is dead: the registry marks it lost, the rooms move its participants (entry wiring). */
  lose(nodeId: string, reason: NodeLossReason): Promise<void>;
  /**
   * The node's link fell silent and its health check is under way (`unresponsive` is true now): the
   * rooms check their nodes at once and may leave it make-before-break (room/failover.ts), without
   * waiting for the health check's verdict.
   */
  unresponsive?(nodeId: string): void;
  log: Logger;
}

/** How long the confirming health check may take: a frozen node never answers it. */
export const LINK_PROBE_TIMEOUT_MS = 1_000;

/** Silent while its health check keeps passing for this many silence bounds: closed so that the node links again. */
const SILENT_BUT_UP_LIMIT = 10;

interface Link {
  readonly nodeId: string;
  readonly socket: LinkSocket;
  heardAt: number;
  /** Silent since, while health checks pass (for SILENT_BUT_UP_LIMIT). */
  silentSince: number | undefined;
  /** The node said it closes the link on purpose. */
  stopping: boolean;
  /** Closed by this edge, or replaced: its close is no death. */
  dropped: boolean;
  checking: boolean;
  /** When the health check of a silent link was asked; undefined: no such check under way. */
  silentCheckAt: number | undefined;
  /** Its control calls in flight, when the node serves them on its link. */
  readonly calls: LinkCalls | undefined;
}

/** What the node said at the upgrade that it serves on its link. */
export interface LinkFeatures {
  /** Control calls (shared/node-link.ts, LINK_CONTROL_CALLS). */
  controlCalls: boolean;
}

export class NodeLinks {
  readonly #opts: NodeLinksOptions;
  readonly #links = new Map<string, Link>();
  #timer: ReturnType<typeof setInterval> | undefined;
  /** When the sweep last ran: a sweep much later than its interval means this edge itself stalled. */
  #sweptAt = 0;
  #stopped = false;

  constructor(opts: NodeLinksOptions) {
    this.#opts = opts;
  }

  /** Open links, for the log and the tests. */
  get size(): number {
    return this.#links.size;
  }

  /** The interval the nodes ping at (told in `hello`). */
  get pingIntervalMs(): number {
    return Math.max(50, Math.floor(this.#opts.silenceMs / 4));
  }

  /**
   * The control calls of a node's open link, when it serves them there; undefined otherwise (no link, a
   * node that does not serve calls on it, a link of this node on another edge of a cluster, a link the
   * node said it closes: its calls in flight are still answered, new ones go over HTTP).
   */
  calls(nodeId: string): LinkCalls | undefined {
    const link = this.#links.get(nodeId);
    return link && !link.stopping ? link.calls : undefined;
  }

  /**
   * The node's link is silent and its health check has not answered yet: it may be frozen (SIGSTOP, a
   * hung machine) or only slow. Rooms leave such a node make-before-break when another node can take
   * them (room/failover.ts); it is not lost, and becomes itself again the moment it is heard.
   */
  unresponsive(nodeId: string): boolean {
    const link = this.#links.get(nodeId);
    return link?.silentCheckAt !== undefined && link.heardAt < link.silentCheckAt;
  }

  /** A node's link opened (its upgrade was signed by it): a link it held before is replaced. */
  open(nodeId: string, socket: LinkSocket, features: LinkFeatures = { controlCalls: false }): NodeLinkHandle {
    const link: Link = {
      nodeId,
      socket,
      heardAt: Date.now(),
      silentSince: undefined,
      stopping: false,
      dropped: false,
      checking: false,
      silentCheckAt: undefined,
      calls: features.controlCalls ? new LinkCalls((text) => socket.send(text)) : undefined,
    };
    if (this.#stopped) {
      socket.close(1001, 'the edge is stopping');
      link.dropped = true;
      link.calls?.close('the edge is stopping');
      return { message: () => {}, closed: () => {} };
    }
    const old = this.#links.get(nodeId);
    if (old) this.#drop(old, 1000, 'replaced by a newer link');
    this.#links.set(nodeId, link);
    this.#send(link, { type: 'hello', pingIntervalMs: this.pingIntervalMs });
    this.#startTimer();
    return { message: (frame) => this.#message(link, frame), closed: () => this.#closed(link) };
  }

  /** The edge is stopping: every link closes, and none of these closes is a death. */
  stop(): void {
    this.#stopped = true;
    this.#stopTimer();
    for (const link of [...this.#links.values()]) this.#drop(link, 1001, 'the edge is stopping');
  }

  #message(link: Link, frame: string): void {
    // Only answers to calls may be large, and only on a link that carries calls.
    const msg =
      !link.calls && frame.length > MAX_LINK_MESSAGE_BYTES ? undefined : parseLinkFrame(NodeLinkMessage, frame);
    if (!msg) {
      this.#opts.log.warn({ node: link.nodeId }, 'media node link: a message that is not the link protocol, closed');
      this.#drop(link, 1008, 'not a link message');
      return;
    }
    link.heardAt = Date.now();
    link.silentSince = undefined;
    if (msg.type === 'ping') this.#send(link, { type: 'pong', seq: msg.seq });
    else if (msg.type === 'stopping') {
      link.stopping = true;
      this.#opts.log.info({ node: link.nodeId, reason: msg.reason }, 'media node link closing on purpose');
    } else if (!link.calls?.answer(msg))
      // Late (its call timed out or was aborted) or made up: nobody waits for it.
      this.#opts.log.debug({ node: link.nodeId, id: msg.id }, 'media node link: an answer to no call in flight');
  }

  #closed(link: Link): void {
    link.calls?.close(link.dropped ? 'closed by the edge' : 'closed');
    const current = this.#links.get(link.nodeId) === link;
    if (current) this.#links.delete(link.nodeId);
    if (this.#links.size === 0) this.#stopTimer();
    if (!current || link.dropped || this.#stopped) return;
    this.#opts.log.info({ node: link.nodeId, onPurpose: link.stopping }, 'media node link closed');
    if (link.stopping) return;
    void this.#confirm(link, 'link closed');
  }

  /**
   * Every quarter of the bound: links silent for longer are checked. A sweep that comes a whole bound
   * late found this edge stalled (SIGSTOP, a paused VM, a blocked event loop): timers run before the
   * sockets are read, so every node's pings still wait unread and every link looks silent. Each link
   * gets a fresh bound instead; a node that really froze meanwhile is found one bound later, and one that
   * died closed its link, which the stall does not hide.
   */
  #sweep(): void {
    const now = Date.now();
    const late = now - this.#sweptAt > this.#opts.silenceMs;
    this.#sweptAt = now;
    if (late) {
      for (const link of this.#links.values()) link.heardAt = now;
      this.#opts.log.info({ links: this.#links.size }, 'media node links: this edge was stalled, silence not judged');
      return;
    }
    for (const link of this.#links.values())
      if (!link.checking && now - link.heardAt > this.#opts.silenceMs) void this.#confirm(link, 'link silent');
  }

  /** The health check that turns a closed or silent link into a loss, or not. */
  async #confirm(link: Link, reason: NodeLossReason): Promise<void> {
    link.checking = true;
    const askedAt = Date.now();
    if (reason === 'link silent') {
      link.silentCheckAt = askedAt;
      this.#opts.unresponsive?.(link.nodeId);
    }
    let up = false;
    try {
      up = await this.#opts.probe(link.nodeId);
    } catch (err) {
      this.#opts.log.debug({ node: link.nodeId, ...errorFields(err) }, 'media node health check failed');
    }
    link.checking = false;
    link.silentCheckAt = undefined;
    if (this.#stopped) return;
    if (reason === 'link silent') {
      // Heard meanwhile, replaced or closed: the link's own events decide.
      if (this.#links.get(link.nodeId) !== link || link.heardAt >= askedAt) return;
      if (up) {
        link.silentSince ??= link.heardAt;
        link.heardAt = Date.now();
        if (Date.now() - link.silentSince > SILENT_BUT_UP_LIMIT * this.#opts.silenceMs) {
          this.#opts.log.info({ node: link.nodeId }, 'media node link silent, the node answers: link closed to renew');
          this.#drop(link, 4000, 'silent link, link again');
        }
        return;
      }
      this.#drop(link, 4001, 'node found lost');
    } else if (up) {
      this.#opts.log.info({ node: link.nodeId }, 'media node link closed, but the node answers its health check');
      return;
    }
    await this.#opts.lose(link.nodeId, reason);
  }

  #drop(link: Link, code: number, why: string): void {
    link.dropped = true;
    // At once, not at the close event: the socket may take its time to close.
    link.calls?.close(why);
    if (this.#links.get(link.nodeId) === link) this.#links.delete(link.nodeId);
    try {
      link.socket.close(code, why);
    } catch {
      // Already closed.
    }
  }

  #send(link: Link, msg: EdgeLinkMessage): void {
    try {
      link.socket.send(JSON.stringify(msg));
    } catch {
      // Closing: its close event follows.
    }
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #startTimer(): void {
    if (this.#timer !== undefined) return;
    this.#sweptAt = Date.now();
    this.#timer = setInterval(() => this.#sweep(), this.pingIntervalMs);
    // Node: the sweep must not keep a stopping process alive (other runtimes have no unref).
    (this.#timer as { unref?: () => void }).unref?.();
  }
}
