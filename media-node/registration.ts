/**
 * Registers this node with the edge and keeps it registered: heartbeats with the current load at the
 * interval the edge asks for, and a fresh registration whenever the edge has forgotten the node (edge
 * restart: the heartbeat's registerAgainStatus, shared/node-api.ts) or could not be reached. Failures
 * are retried with capped backoff; they never stop the node.
 */
import type { Logger } from '../shared/logger.ts';
import type { MediaEvent, NodeLoad, NodeRegistration } from '../shared/control.ts';
import {
  MIN_HEARTBEAT_INTERVAL_MS,
  nodeApi,
  nodeApiPath,
  type NodeApiBody,
  type NodeApiIds,
  type NodeApiOp,
} from '../shared/node-api.ts';
import { signedFetch } from '../shared/signed-fetch.ts';

export interface RegistrationOptions {
  edgeUrl: string;
  secret: string;
  registration: Omit<NodeRegistration, 'load'>;
  load: () => NodeLoad;
  log: Logger;
}

export class EdgeRegistration {
  readonly #opts: RegistrationOptions;
  #timer: NodeJS.Timeout | undefined;
  #registered = false;
  #intervalMs = 5_000;
  #failures = 0;
  #stopped = false;

  constructor(opts: RegistrationOptions) {
    this.#opts = opts;
  }

  get registered(): boolean {
    return this.#registered;
  }

  start(): void {
    void this.#tick();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #tick(): Promise<void> {
    try {
      if (!this.#registered) await this.#register();
      else await this.#heartbeat();
      this.#failures = 0;
    } catch (err) {
      this.#registered = false;
      this.#failures++;
      const level = this.#failures === 1 ? 'warn' : 'debug';
      this.#opts.log[level](
        { edge: this.#opts.edgeUrl, err: (err as Error).message, failures: this.#failures },
        'edge registration failed, retrying',
      );
    }
    if (this.#stopped) return;
    const delay = this.#registered ? this.#intervalMs : Math.min(200 * 2 ** Math.min(this.#failures, 5), 5_000);
    this.#timer = setTimeout(() => void this.#tick(), delay);
    this.#timer.unref();
  }

  async #register(): Promise<void> {
    const res = await this.#post('register', {}, { ...this.#opts.registration, load: this.#opts.load() });
    const json: unknown = await res.json().catch(() => ({}));
    const body = json as { error?: { code?: unknown; message?: unknown } };
    // The edge's reason (e.g. FORBIDDEN: another operator than this node's credentials pin) tells the
    // operator what to fix; it is the edge's own safe text.
    if (!res.ok)
      throw new Error(
        `edge answered HTTP ${res.status}${typeof body.error?.code === 'string' ? ` ${body.error.code}` : ''}${typeof body.error?.message === 'string' ? `: ${body.error.message.slice(0, 300)}` : ''}`,
      );
    const reply = nodeApi.register.response.safeParse(json);
    if (reply.success && reply.data.heartbeatIntervalMs >= MIN_HEARTBEAT_INTERVAL_MS)
      this.#intervalMs = reply.data.heartbeatIntervalMs;
    this.#registered = true;
    this.#opts.log.info({ edge: this.#opts.edgeUrl, heartbeatIntervalMs: this.#intervalMs }, 'registered with edge');
  }

  async #heartbeat(): Promise<void> {
    const res = await this.#post('heartbeat', this.#self(), { load: this.#opts.load() });
    await res.body?.cancel();
    if (res.status === nodeApi.heartbeat.registerAgainStatus) {
      this.#registered = false;
      await this.#register();
    } else if (!res.ok) {
      throw new Error(`edge answered HTTP ${res.status}`);
    }
  }

  /**
   * The node is going down: asks the edge to stop sending participants here and to move the rooms it
   * carries to other nodes. Heartbeats go on meanwhile (a draining node is alive, not lost).
   */
  async drain(): Promise<void> {
    const res = await this.#post('drain', this.#self(), {});
    await res.body?.cancel();
    // Registering again would end the drain: an edge that does not know this node has nothing to move.
    if (res.status === nodeApi.drain.registerAgainStatus)
      throw new Error(`edge answered HTTP ${res.status}: it does not know this node, nothing to drain there`);
    if (!res.ok) throw new Error(`edge answered HTTP ${res.status}`);
  }

  /**
   * Tells the edge what the SFU observed in a room. Best effort: an event lost while the edge is
   * unreachable is superseded by the next one (speaker and score events are states, not deltas).
   */
  sendEvent(room: string, event: MediaEvent): void {
    if (!this.#registered) return;
    this.#post('events', this.#self(), { room, event }).then(
      (res) => res.body?.cancel(),
      (err) => this.#opts.log.debug({ room, err: (err as Error).message }, 'media event not delivered'),
    );
  }

  #self(): { nodeId: string } {
    return { nodeId: this.#opts.registration.nodeId };
  }

  /** A signed request to the edge, at the operation's route in the shared node API table. */
  #post<O extends NodeApiOp>(op: O, ids: NodeApiIds<O>, body: NodeApiBody<O>): Promise<Response> {
    return signedFetch(
      { baseUrl: this.#opts.edgeUrl, nodeId: this.#opts.registration.nodeId, secret: this.#opts.secret },
      {
        method: nodeApi[op].method,
        path: nodeApiPath(op, ids),
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5_000),
      },
    );
  }
}
