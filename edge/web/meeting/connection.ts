/**
 * The meeting's link to the room: one WebSocket at a time (signaling.ts), kept alive by pings and
 * replaced when it drops. On any close but the ones that end the meeting it reconnects with backoff and
 * sends `resume`; requests made meanwhile wait for the new socket, and idempotent ones the loss cut off
 * are sent again. When the room no longer knows us (`resume` refused: an edge restarted without its
 * state, or the grace period ran out) it joins again by itself, as the same person (issue 13): a new
 * participant id, the page stays. What a resume or a rejoin means for the roster and the media is the
 * owner's business (hooks).
 */
import { ErrorCode } from '../../../shared/errors.ts';
import { PROTOCOL_VERSION } from '../../../shared/protocol-version.ts';
import { CloseCode, type JoinResult, type Method, type Params, type Result } from '../../../shared/signaling.ts';
import { ClientErrorCode, DROPPED, REQUEST_TIMEOUT_MS, Signaling, SignalingError } from '../signaling.ts';

/** Reconnecting: the first retry after this long, doubling up to RECONNECT_MAX_DELAY_MS. */
const RECONNECT_FIRST_DELAY_MS = 250;
const RECONNECT_MAX_DELAY_MS = 4_000;
/**
 * Reconnecting stops after this long without reaching the server (the edge's grace period, 15 s by
 * default, is long over by then). A server that answers tells us sooner: `resume` fails with
 * UNAUTHORIZED once the grace period has run out.
 */
const RECONNECT_GIVE_UP_MS = 120_000;
/**
 * `resume` refusals after which we join again: the room does not know us (any more). A refused
 * protocol version is not among them — joining would be refused the same way.
 */
const REJOIN_AFTER: ReadonlySet<string> = new Set([ErrorCode.Unauthorized]);
/**
 * Joining again failed for a reason that may pass: the socket, a timeout, or no media node yet (a
 * restarted edge knows its nodes only once they have sent their next heartbeat). Any other refusal (an
 * expired token, a full room, a name now taken) ends the meeting as before.
 */
const REJOIN_RETRY: ReadonlySet<string> = new Set([
  ClientErrorCode.Closed,
  ClientErrorCode.Timeout,
  ClientErrorCode.ConnectFailed,
  ErrorCode.NoMediaNode,
  ErrorCode.RateLimited,
]);
/** A new socket must open, and `resume` be answered, within these. */
const RECONNECT_OPEN_TIMEOUT_MS = 5_000;
const RESUME_TIMEOUT_MS = 10_000;
/** Keep-alive (docs/protocol.md: every 20-30 s); a ping not answered in time counts as a lost socket. */
const PING_EVERY_MS = 20_000;
const PING_TIMEOUT_MS = 10_000;
/**
 * Answers that say the socket's view of the room is stale: no answer within REQUEST_TIMEOUT_MS, or the
 * edge's REPLY_LOST (the request was applied, its answer lost when the room moved to another edge of a
 * cluster). The app gives the socket up and resumes.
 */
const RESUME_AFTER: ReadonlySet<string> = new Set([ClientErrorCode.Timeout, ErrorCode.ReplyLost]);

/** Close codes that end the meeting for this participant: no reconnecting after these (shared CloseCode). */
const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.Left,
  CloseCode.MessageTooBig,
  CloseCode.MeetingEnded,
  CloseCode.Removed,
  CloseCode.Refused,
  CloseCode.RateLimited,
]);

/** Requests that can be sent twice without harm: cut off by a socket loss, they are sent again after resume. */
const RESEND_AFTER_RESUME: ReadonlySet<Method> = new Set<Method>([
  'setProducerPaused',
  'setHand',
  'setConsumerLayers',
  'resumeConsumer',
  'lockRoom',
]);

/** What the owner does at each step of a socket's life. */
export interface ConnectionHooks {
  /** A new socket to subscribe to. Called synchronously after its reply: events that follow must not be lost. */
  listen(s: Signaling): void;
  /** Resumed: bring state in line with the result (before waiting requests go out). */
  resumed(result: JoinResult): void;
  /** The room refused our resume: join again as before (same name, token, region) on a new socket to `url`. */
  rejoin(url: string): Promise<{ s: Signaling; joined: JoinResult }>;
  /**
   * Joined again as a new participant: bring state in line (our new id, the room as it is now; our media
   * is gone on the server and must be made again). Called before `listen` for the new socket returns
   * control, before waiting requests go out.
   */
  rejoined(result: JoinResult): void;
  /** The socket dropped ('reconnecting') or was resumed and requests flow again ('connected'). */
  state(state: 'reconnecting' | 'connected'): void;
  /** The connection ended for good without us leaving (a final close code, or reconnecting gave up). */
  ended(code: number): void;
}

function deferred(): { promise: Promise<void>; resolve(): void; reject(err: Error): void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // nobody may be waiting when it fails
  return { promise, resolve, reject };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Connection {
  /** How often the socket was resumed, and how often we joined again after a refused resume (tests wait on these). */
  resumes = 0;
  rejoins = 0;
  /** The room's socket address on each edge we may use (this one first, TREFFPUNKT_EDGE_URLS after). */
  readonly #urls: readonly string[];
  /** The edge we reach now; the next one is tried when it cannot be reached. */
  #urlIndex = 0;
  #participantId: string;
  readonly #hooks: ConnectionHooks;
  #signaling: Signaling;
  #resumeToken: string;
  /** Set while the socket is down: requests wait on it (resolved on resume, rejected when we give up). */
  #offline: ReturnType<typeof deferred> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #leaving = false;
  #closed = false;

  /** Takes over a socket that has joined (on `urls[0]`); `hooks.listen` is called for it at once. */
  constructor(urls: readonly string[], s: Signaling, joined: JoinResult, hooks: ConnectionHooks) {
    this.#urls = urls;
    this.#signaling = s;
    this.#participantId = joined.participantId;
    this.#resumeToken = joined.resumeToken;
    this.#hooks = hooks;
    s.onclose = (code) => this.#onSocketClosed(s, code);
    hooks.listen(s);
  }

  /** Starts the keep-alive pings (once the meeting is set up). */
  startPings(): void {
    this.#pingTimer = setInterval(() => this.#keepAlive(), PING_EVERY_MS);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * A request on the current socket. While the socket is down it waits for the resume; a request of
   * RESEND_AFTER_RESUME that the loss cut off is sent again on the new socket. One unanswered within
   * REQUEST_TIMEOUT_MS, or answered REPLY_LOST, gives the socket up (RESUME_AFTER): the app resumes (what
   * the request did, if anything, comes with the resume's result), and the request fails with that code
   * (or, if it is of RESEND_AFTER_RESUME, is sent again after the resume).
   */
  readonly request = async <M extends Method>(method: M, params: Params<M>): Promise<Result<M>> => {
    for (;;) {
      if (this.#closed) throw new SignalingError(ClientErrorCode.Closed, 'the meeting is over');
      if (this.#offline) await this.#offline.promise;
      const s = this.#signaling;
      try {
        return await s.request(method, params, REQUEST_TIMEOUT_MS);
      } catch (err) {
        const code = err instanceof SignalingError ? err.code : undefined;
        const stale = code !== undefined && RESUME_AFTER.has(code);
        if (stale && s === this.#signaling && !this.#closed) s.drop();
        const cutOff = (stale || code === ClientErrorCode.Closed) && !this.#closed && this.#offline !== undefined;
        if (!cutOff || !RESEND_AFTER_RESUME.has(method)) throw err;
      }
    }
  };

  /** Says goodbye if the socket is open (no waiting for a resume: leaving is leaving). */
  async leave(): Promise<void> {
    this.#leaving = true;
    if (this.#signaling.open) await this.#signaling.request('leave', {}, 5_000).catch(() => undefined);
  }

  /** Marks that the room will close our socket on purpose (endMeeting): no reconnecting then. */
  set leaving(leaving: boolean) {
    this.#leaving = leaving;
  }

  /** Gives up the socket as a network loss would: the connection reconnects and resumes by itself. */
  drop(): void {
    this.#signaling.drop();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pingTimer);
    this.#offline?.reject(new SignalingError(ClientErrorCode.Closed, 'the meeting is over'));
    this.#offline = undefined;
    this.#signaling.onclose = undefined;
    this.#signaling.close();
  }

  #keepAlive(): void {
    const s = this.#signaling;
    if (this.#closed || !s.open) return;
    // No answer in time: the connection is dead even if the browser has not noticed (no close event yet).
    s.request('ping', {}, PING_TIMEOUT_MS).catch((err) => {
      if (err instanceof SignalingError && err.code === ClientErrorCode.Timeout && s === this.#signaling) s.drop();
    });
  }

  #onSocketClosed(s: Signaling, code: number): void {
    if (s !== this.#signaling || this.#closed) return;
    if (this.#leaving || FINAL_CLOSE_CODES.has(code)) {
      const leaving = this.#leaving;
      this.close();
      if (!leaving) this.#hooks.ended(code);
      return;
    }
    console.warn(`treffpunkt: the room connection dropped (code ${code}); reconnecting`);
    void this.#reconnect();
  }

  /** Reconnects with backoff and resumes; gives up (ended) when the server no longer knows us. */
  async #reconnect(): Promise<void> {
    if (this.#offline) return;
    this.#offline = deferred();
    this.#hooks.state('reconnecting');
    const started = Date.now();
    let delay = RECONNECT_FIRST_DELAY_MS;
    for (;;) {
      await sleep(delay);
      if (this.#closed) return;
      delay = Math.min(delay * 2, RECONNECT_MAX_DELAY_MS);
      let s: Signaling;
      try {
        s = await Signaling.open(this.#url, RECONNECT_OPEN_TIMEOUT_MS);
      } catch {
        if (Date.now() - started > RECONNECT_GIVE_UP_MS) return this.#giveUp();
        // This edge is down: the next one (in a cluster it resumes us; a lone edge lets us join again).
        this.#urlIndex = (this.#urlIndex + 1) % this.#urls.length;
        continue;
      }
      if (this.#closed) return s.close();
      let result: JoinResult;
      try {
        result = await s.request(
          'resume',
          { protocolVersion: PROTOCOL_VERSION, participantId: this.#participantId, resumeToken: this.#resumeToken },
          RESUME_TIMEOUT_MS,
        );
      } catch (err) {
        s.onclose = undefined;
        s.close();
        // UNAUTHORIZED: the grace period is over, or the room restarted without us: join again.
        const code = err instanceof SignalingError ? err.code : '';
        if (REJOIN_AFTER.has(code)) {
          if (await this.#rejoin()) return;
          if (this.#closed) return;
        } else if (code === ErrorCode.UnsupportedProtocolVersion) return this.#giveUp();
        if (Date.now() - started > RECONNECT_GIVE_UP_MS) return this.#giveUp();
        continue;
      }
      if (this.#closed) return s.close();
      // Nothing awaited from here to listen: events right after the resume reply must not be lost.
      this.#signaling = s;
      this.#resumeToken = result.resumeToken;
      s.onclose = (code) => this.#onSocketClosed(s, code);
      this.#hooks.listen(s);
      this.resumes++;
      const offline = this.#offline;
      this.#offline = undefined;
      this.#hooks.resumed(result);
      offline.resolve();
      this.#hooks.state('connected');
      return;
    }
  }

  /**
   * Joins again after a refused resume. True once we are in (or the meeting ended: a refusal that will
   * not pass gives up); false when the join failed in a way that may pass, to be tried again.
   */
  async #rejoin(): Promise<boolean> {
    let joined: { s: Signaling; joined: JoinResult };
    try {
      joined = await this.#hooks.rejoin(this.#url);
    } catch (err) {
      const code = err instanceof SignalingError ? err.code : '';
      console.warn(`treffpunkt: joining the room again failed (${code || String(err)})`);
      if (REJOIN_RETRY.has(code)) return false;
      this.#giveUp();
      return true;
    }
    const { s, joined: result } = joined;
    if (this.#closed) {
      s.close();
      return true;
    }
    console.warn('treffpunkt: the room no longer knew us; joined it again');
    // As after a resume: nothing awaited from here to listen.
    this.#signaling = s;
    this.#participantId = result.participantId;
    this.#resumeToken = result.resumeToken;
    s.onclose = (code) => this.#onSocketClosed(s, code);
    this.#hooks.listen(s);
    this.rejoins++;
    const offline = this.#offline;
    this.#offline = undefined;
    this.#hooks.rejoined(result);
    offline?.resolve();
    this.#hooks.state('connected');
    return true;
  }

  get #url(): string {
    return this.#urls[this.#urlIndex]!;
  }

  #giveUp(): void {
    if (this.#closed) return;
    this.close();
    this.#hooks.ended(DROPPED);
  }
}
