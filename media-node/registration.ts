/**
 * Registers this node with an edge and keeps it registered: heartbeats with the current load at the
 * interval the edge asks for, and a fresh registration whenever the edge has forgotten the node (edge
 * restart: the heartbeat's registerAgainStatus, shared/node-api.ts) or could not be reached. Failures
 * are retried with capped backoff; they never stop the node.
 *
 * Several edges (a cluster, TREFFPUNKT_EDGE_URL comma-separated): the node talks to one at a time and
 * moves to the next when a request to it fails, so it keeps working when its edge dies (issue 12). The
 * edges share the registry, so the next one knows the node at once.
 *
 * After every registration the node reconciles its rooms with the edge (issue 13): it names the rooms it
 * holds, the edge answers with those that still exist, the node closes the others.
 *
 * A refusal is logged with the edge's reason, and a "stale timestamp" with the clock offset measured
 * from the edge's Date header (issue 13, "Wrong settings are silent"); a lasting failure keeps warning.
 */
import type { MediaEvent, NodeLoad, NodeRegistration } from '../shared/control.ts';
import type { Logger } from '../shared/logger.ts';
import {
  MAX_RECONCILE_ROOMS,
  MIN_HEARTBEAT_INTERVAL_MS,
  nodeApi,
  nodeApiPath,
  type NodeApiBody,
  type NodeApiIds,
  type NodeApiOp,
} from '../shared/node-api.ts';
import { MAX_SKEW_MS } from '../shared/request-signing.ts';
import { signedFetch } from '../shared/signed-fetch.ts';
import { ThrottledWarnings } from '../shared/throttled-warnings.ts';
import type { ControlCalls } from './control-calls.ts';
import { EdgeLink } from './edge-link.ts';

/** How often a lasting registration failure is logged again at warn level. */
const REPEAT_WARNING_MS = 10_000;

/** The rooms this node holds, for reconciliation with the edge (media-rooms.ts). */
export interface HeldRooms {
  names(): string[];
  /** Closes the room and everything in it (idempotent). */
  close(name: string): void;
}

export interface RegistrationOptions {
  /** Tried in this order; the node stays with one until a request to it fails. */
  edgeUrls: readonly string[];
  secret: string;
  registration: Omit<NodeRegistration, 'load'>;
  load: () => NodeLoad;
  log: Logger;
  rooms?: HeldRooms;
  /** The clock requests are signed with (tests skew it: TREFFPUNKT_TEST_CLOCK_OFFSET_MS in main.ts). */
  now?: () => number;
  /** Holds a node link (edge-link.ts) to the edge registered with; default true. */
  link?: boolean;
  /** Serves the edge's control calls on the node link too (issue 14); none: the link carries pings only. */
  calls?: ControlCalls;
}

/** An edge's answer that is not a success: its status, code and message (the edge's own safe text). */
class EdgeRefused extends Error {
  readonly status: number;
  readonly code: string | undefined;
  /** For a "stale timestamp": this node's clock minus the edge's (ms), from the edge's Date header. */
  clockOffsetMs: number | undefined;
  constructor(status: number, code: string | undefined, message: string | undefined) {
    super(`edge answered HTTP ${status}${code ? ` ${code}` : ''}${message ? `: ${message.slice(0, 300)}` : ''}`);
    this.status = status;
    this.code = code;
  }
}

export class EdgeRegistration {
  readonly #opts: RegistrationOptions;
  readonly #now: () => number;
  readonly #warnings = new ThrottledWarnings(REPEAT_WARNING_MS);
  #timer: NodeJS.Timeout | undefined;
  #registered = false;
  #intervalMs = 5_000;
  #failures = 0;
  #stopped = false;
  #draining = false;
  #ticking = false;
  /** The edge in use: an index into edgeUrls. */
  #edge = 0;
  readonly #link: EdgeLink | undefined;

  constructor(opts: RegistrationOptions) {
    if (opts.edgeUrls.length === 0) throw new Error('no edge URL');
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#link =
      opts.link === false
        ? undefined
        : new EdgeLink({
            nodeId: opts.registration.nodeId,
            secret: opts.secret,
            log: opts.log,
            now: this.#now,
            registerAgain: () => this.#registerAgainNow(),
            ...(opts.calls ? { calls: opts.calls } : {}),
          });
  }

  get registered(): boolean {
    return this.#registered;
  }

  /** The edge this node talks to now. */
  get edgeUrl(): string {
    return this.#opts.edgeUrls[this.#edge]!;
  }

  start(): void {
    void this.#tick();
  }

  /** Stops heartbeats, and closes the node link saying so (resolves once it closed, at most 1 s). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#link?.stop();
  }

  /**
   * The edge forgot this node or found it lost (its link was refused with REGISTER_AGAIN_STATUS): the next
   * tick, due now, registers again. A tick under way registers at its end instead.
   */
  #registerAgainNow(): void {
    this.#registered = false;
    if (this.#ticking || this.#stopped) return;
    clearTimeout(this.#timer);
    void this.#tick();
  }

  async #tick(): Promise<void> {
    this.#ticking = true;
    try {
      if (!this.#registered) await this.#register();
      else await this.#heartbeat();
      this.#failures = 0;
    } catch (err) {
      this.#registered = false;
      this.#failures++;
      this.#logFailure(err);
      // The next attempt goes to the next edge (the same one when there is only one).
      this.#edge = (this.#edge + 1) % this.#opts.edgeUrls.length;
    }
    this.#ticking = false;
    if (this.#stopped) return;
    // Each edge in turn is tried at once; only a whole round of failures backs off.
    const rounds = Math.floor(this.#failures / this.#opts.edgeUrls.length);
    const delay = this.#registered
      ? this.#intervalMs
      : this.#failures % this.#opts.edgeUrls.length !== 0
        ? 100
        : Math.min(200 * 2 ** Math.min(rounds, 5), 5_000);
    this.#timer = setTimeout(() => void this.#tick(), delay);
    this.#timer.unref();
  }

  /**
   * The first failure at warn level, then again every REPEAT_WARNING_MS while it lasts (with the count):
   * a node that cannot register must keep saying why, not once and then never again.
   */
  #logFailure(err: unknown): void {
    const fields: Record<string, unknown> = {
      edge: this.edgeUrl,
      err: (err as Error).message,
      failures: this.#failures,
    };
    if (err instanceof EdgeRefused && err.clockOffsetMs !== undefined) fields.clockOffsetMs = err.clockOffsetMs;
    const kind = err instanceof EdgeRefused ? `${err.status}|${err.code}` : 'unreachable';
    let logged = false;
    this.#warnings.warn(`${this.#edge}|${kind}`, (suppressed) => {
      logged = true;
      const message =
        fields.clockOffsetMs !== undefined
          ? `edge registration refused: this node's clock is ${Math.round(Number(fields.clockOffsetMs) / 1000)} s off the edge's (more than ${MAX_SKEW_MS / 1000} s is refused); fix the clock (NTP)`
          : 'edge registration failed, retrying';
      this.#opts.log.warn({ ...fields, ...(suppressed > 0 ? { suppressed } : {}) }, message);
    });
    if (!logged) this.#opts.log.debug(fields, 'edge registration failed, retrying');
  }

  async #register(): Promise<void> {
    const res = await this.#post('register', {}, { ...this.#opts.registration, load: this.#opts.load() });
    const json: unknown = await res.json().catch(() => ({}));
    if (!res.ok) throw this.#refusal(res, json);
    const reply = nodeApi.register.response.safeParse(json);
    if (reply.success && reply.data.heartbeatIntervalMs >= MIN_HEARTBEAT_INTERVAL_MS)
      this.#intervalMs = reply.data.heartbeatIntervalMs;
    this.#registered = true;
    this.#opts.log.info({ edge: this.edgeUrl, heartbeatIntervalMs: this.#intervalMs }, 'registered with edge');
    // The link follows the registration: to this edge (moving off the one before, if it was another).
    this.#link?.connect(this.edgeUrl);
    // A new registration makes the node selectable again: a drain under way is told to the new edge too.
    if (this.#draining) await this.drain().catch(() => {});
    await this.#reconcile().catch((err: Error) =>
      this.#opts.log.warn({ edge: this.edgeUrl, err: err.message }, 'reconciling rooms with the edge failed'),
    );
  }

  /**
   * Names the rooms this node holds, in batches; closes those the edge does not keep. Rooms made while
   * the question was on the way are not in it, so they are never closed by its answer.
   */
  async #reconcile(): Promise<void> {
    const rooms = this.#opts.rooms;
    if (!rooms) return;
    const held = rooms.names();
    const closed: string[] = [];
    for (let i = 0; i < held.length; i += MAX_RECONCILE_ROOMS) {
      const batch = held.slice(i, i + MAX_RECONCILE_ROOMS);
      const res = await this.#post('rooms', this.#self(), { rooms: batch });
      const json: unknown = await res.json().catch(() => ({}));
      if (!res.ok) throw this.#refusal(res, json);
      const reply = nodeApi.rooms.response.safeParse(json);
      if (!reply.success) throw new Error('the edge answered the room list with something else');
      const keep = new Set(reply.data.keep);
      for (const name of batch)
        if (!keep.has(name)) {
          rooms.close(name);
          closed.push(name);
        }
    }
    if (closed.length > 0)
      this.#opts.log.info(
        { edge: this.edgeUrl, closed: closed.length, kept: held.length - closed.length },
        'closed rooms the edge no longer has',
      );
  }

  async #heartbeat(): Promise<void> {
    const res = await this.#post('heartbeat', this.#self(), { load: this.#opts.load() });
    if (res.status === nodeApi.heartbeat.registerAgainStatus) {
      await res.body?.cancel();
      this.#registered = false;
      await this.#register();
    } else if (!res.ok) {
      throw this.#refusal(res, await res.json().catch(() => ({})));
    } else {
      await res.body?.cancel();
    }
  }

  /**
   * The edge's refusal as an error carrying its reason; for "stale timestamp" also the clock offset
   * measured against the edge's Date header (whole seconds: good enough to say "your clock is 90 s off").
   */
  #refusal(res: Response, json: unknown): EdgeRefused {
    const body = json as { error?: { code?: unknown; message?: unknown } };
    const message = typeof body.error?.message === 'string' ? body.error.message : undefined;
    const err = new EdgeRefused(
      res.status,
      typeof body.error?.code === 'string' ? body.error.code : undefined,
      message,
    );
    const date = Date.parse(res.headers.get('date') ?? '');
    if (message?.includes('stale timestamp') && Number.isFinite(date)) err.clockOffsetMs = this.#now() - date;
    return err;
  }

  /**
   * The node is going down: asks the edge to stop sending participants here and to move the rooms it
   * carries to other nodes. Heartbeats go on meanwhile (a draining node is alive, not lost).
   */
  async drain(): Promise<void> {
    this.#draining = true;
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

  /** A signed request to the current edge, at the operation's route in the shared node API table. */
  #post<O extends NodeApiOp>(op: O, ids: NodeApiIds<O>, body: NodeApiBody<O>): Promise<Response> {
    return signedFetch(
      { baseUrl: this.edgeUrl, nodeId: this.#opts.registration.nodeId, secret: this.#opts.secret },
      {
        method: nodeApi[op].method,
        path: nodeApiPath(op, ids),
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5_000),
        now: this.#now(),
      },
    );
  }
}
