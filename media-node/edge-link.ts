/**
 * This node's link to the edge it is registered with (shared/node-link.ts, issue 14): a WebSocket that
 * the kernel closes when this process dies, and that carries a ping at the interval the edge asks for, so
 * that the edge knows of a death or a freeze within about a second instead of a heartbeat timeout.
 *
 * The link is an addition: registration and heartbeats (registration.ts) go on as before, and a link that
 * cannot be made (an older edge, the Worker edge, a proxy that refuses WebSockets) is retried with a
 * backoff and otherwise ignored. Every close this node makes on purpose is preceded by `stopping`, so the
 * edge does not take it for a death.
 *
 * With `calls`, the link also serves the edge's control calls (issue 14): the node says so at the upgrade
 * (LINK_FEATURES_HEADER), runs each `call` frame exactly as its HTTP control API runs a request
 * (control-calls.ts) and answers with a `result` or `error` frame of the same id, calls running
 * concurrently as HTTP requests do. Only on a link that is encrypted or stays on the machine (wss:, or
 * ws: to loopback): the frames are not signed one by one (docs/security.md).
 */
import WebSocket from 'ws';
import type { Logger } from '../shared/logger.ts';
import {
  EdgeLinkMessage,
  LINK_CONTROL_CALLS,
  LINK_FEATURES_HEADER,
  type LinkCall,
  MAX_LINK_CALL_BYTES,
  MAX_LINK_MESSAGE_BYTES,
  type NodeLinkMessage,
  nodeLinkPath,
  parseLinkFrame,
} from '../shared/node-link.ts';
import { signRequest } from '../shared/request-signing.ts';
import { REGISTER_AGAIN_STATUS } from '../shared/node-api.ts';
import { isInsecureUrl } from '../shared/transport-security.ts';
import type { ControlCalls } from './control-calls.ts';
import { answerBadCallFrame, answerLinkCall } from './link-call-answer.ts';

/** Retries back off up to this. */
const MAX_BACKOFF_MS = 30_000;
/** An edge without node links (404) is asked again this rarely. */
const NO_LINK_RETRY_MS = 60_000;
/** No word from the edge for this long (an edge frozen or gone without a FIN): the node links again. */
const EDGE_SILENCE_MS = 15_000;
/**
 * A close on purpose waits this long at most for the answers to the calls still running on the link (the
 * edge's deadline for a call): over HTTP they would have been answered, so they are here too.
 */
const ANSWER_GRACE_MS = 5_000;

export interface EdgeLinkOptions {
  nodeId: string;
  secret: string;
  log: Logger;
  /** The signing clock (registration.ts's, which tests skew). */
  now?: () => number;
  /**
   * The edge refused the link because it does not know this node, or found it lost (a node that thawed
   * after SIGSTOP): the registration registers again now, instead of at its next heartbeat.
   */
  registerAgain?: () => void;
  /** Serves the edge's control calls on the link (the same ones as the HTTP control API); none: pings only. */
  calls?: ControlCalls;
}

type StoppingReason = Extract<NodeLinkMessage, { type: 'stopping' }>['reason'];

export class EdgeLink {
  readonly #opts: EdgeLinkOptions;
  readonly #now: () => number;
  /** The edge linked to (its base URL), or to link to. */
  #edgeUrl: string | undefined;
  #ws: WebSocket | undefined;
  #pinger: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #failures = 0;
  #seq = 0;
  #heardAt = 0;
  #stopped = false;
  /** What the last failure was, so that a lasting one is logged once, not at every retry. */
  #lastFailure = '';
  /** Calls being run, per link socket, and who waits for them all to be answered. */
  readonly #serving = new Map<WebSocket, { running: number; idle?: () => void }>();

  constructor(opts: EdgeLinkOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Whether the link is open now. */
  get open(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN;
  }

  /**
   * Links to `edgeUrl`: nothing to do if that is the edge already (the link keeps itself up there, retrying
   * after every close or refusal); another edge replaces the link.
   */
  connect(edgeUrl: string): void {
    if (this.#stopped || this.#edgeUrl === edgeUrl) return;
    if (this.#ws) this.#closeOnPurpose('edge switch');
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#edgeUrl = edgeUrl;
    this.#failures = 0;
    void this.#open();
  }

  /** The node stops: `stopping`, then the close; resolves when the socket closed (at most 1 s). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    const ws = this.#ws;
    if (!ws) return;
    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    this.#closeOnPurpose('shutdown');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, 1_000)))]);
    clearTimeout(timer);
  }

  async #open(): Promise<void> {
    const edgeUrl = this.#edgeUrl;
    if (!edgeUrl || this.#stopped) return;
    const { nodeId, secret } = this.#opts;
    const path = nodeLinkPath(nodeId);
    const headers: Record<string, string> = await signRequest(
      secret,
      nodeId,
      { method: 'GET', path, body: '' },
      this.#now(),
    );
    if (this.#stopped || this.#edgeUrl !== edgeUrl) return;
    // Plain ws: beyond loopback (TREFFPUNKT_ALLOW_INSECURE_HTTP) could carry forged calls: HTTP, signed, then.
    const servesCalls = this.#opts.calls !== undefined && !isInsecureUrl(edgeUrl);
    if (servesCalls) headers[LINK_FEATURES_HEADER] = LINK_CONTROL_CALLS;
    const url = edgeUrl.replace(/\/+$/, '').replace(/^http/, 'ws') + path;
    const ws = new WebSocket(url, {
      headers,
      handshakeTimeout: 5_000,
      maxPayload: servesCalls ? MAX_LINK_CALL_BYTES : MAX_LINK_MESSAGE_BYTES,
    });
    this.#ws = ws;
    ws.on('unexpected-response', (req, res) => {
      // A refusal: its status and stable code tell whether to retry soon (register first) or rarely.
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.length < 4 && chunks.push(d));
      res.on('end', () => {
        let code: string | undefined;
        try {
          code = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: { code?: string } }).error?.code;
        } catch {
          code = undefined;
        }
        this.#failed(ws, res.statusCode ?? 0, code);
      });
      res.on('error', () => this.#failed(ws, res.statusCode ?? 0, undefined));
      req.on('error', () => {});
    });
    ws.on('open', () => {
      this.#failures = 0;
      this.#lastFailure = '';
      this.#heardAt = Date.now();
      this.#opts.log.info({ edge: edgeUrl }, 'node link to the edge open');
    });
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? '' : String(data);
      const msg = parseLinkFrame(EdgeLinkMessage, text);
      if (!msg) {
        // A call frame with a readable id but not the schema: answered, so that the edge's call ends now.
        const answer = servesCalls ? answerBadCallFrame(text) : undefined;
        if (answer !== undefined) this.#sendText(ws, answer);
        return;
      }
      this.#heardAt = Date.now();
      if (msg.type === 'hello') this.#startPings(ws, msg.pingIntervalMs);
      else if (msg.type === 'call') void this.#serve(ws, msg, servesCalls);
    });
    ws.on('error', (err) => this.#opts.log.debug({ edge: edgeUrl, err: err.message }, 'node link error'));
    ws.on('close', (code) => {
      if (this.#ws !== ws) return;
      this.#ws = undefined;
      clearInterval(this.#pinger);
      if (this.#stopped) return;
      this.#opts.log.info({ edge: edgeUrl, code }, 'node link closed, linking again');
      this.#failures++;
      this.#scheduleRetry(this.#backoff());
    });
  }

  /** Runs one control call, as the HTTP control API would, and answers it on the link it came on. */
  async #serve(ws: WebSocket, call: LinkCall, servesCalls: boolean): Promise<void> {
    let serving = this.#serving.get(ws);
    if (!serving) this.#serving.set(ws, (serving = { running: 0 }));
    serving.running++;
    try {
      this.#sendText(ws, await answerLinkCall(servesCalls ? this.#opts.calls : undefined, call));
    } finally {
      if (--serving.running === 0) {
        this.#serving.delete(ws);
        serving.idle?.();
      }
    }
  }

  #startPings(ws: WebSocket, intervalMs: number): void {
    clearInterval(this.#pinger);
    this.#pinger = setInterval(() => {
      if (Date.now() - this.#heardAt > Math.max(EDGE_SILENCE_MS, 20 * intervalMs)) {
        this.#opts.log.info({ edge: this.#edgeUrl }, 'the edge is silent on the node link: linking again');
        this.#closeOnPurpose('reconnect');
        this.#scheduleRetry(0);
        return;
      }
      this.#send(ws, { type: 'ping', seq: ++this.#seq });
    }, intervalMs);
    this.#pinger.unref();
  }

  /** The upgrade was refused (`status`, the edge's stable `code`): retried after a backoff that fits. */
  #failed(ws: WebSocket, status: number, code: string | undefined): void {
    if (this.#ws !== ws) return;
    this.#ws = undefined;
    ws.terminate();
    if (this.#stopped) return;
    this.#failures++;
    const kind = `${status}|${code ?? ''}`;
    if (kind !== this.#lastFailure) {
      this.#lastFailure = kind;
      const fields = { edge: this.#edgeUrl, status, code };
      // Register first: the registration is on its way. No link on that edge: heartbeats alone, as before.
      if (status === REGISTER_AGAIN_STATUS) this.#opts.log.info(fields, 'node link refused until registered');
      else if (status === 404)
        this.#opts.log.info(fields, 'the edge has no node link: its heartbeats alone tell it this node is alive');
      else this.#opts.log.warn(fields, 'node link refused by the edge, retrying');
    }
    if (status === REGISTER_AGAIN_STATUS) this.#opts.registerAgain?.();
    this.#scheduleRetry(status === 404 ? NO_LINK_RETRY_MS : this.#backoff());
  }

  #backoff(): number {
    return Math.min(250 * 2 ** Math.min(this.#failures, 8), MAX_BACKOFF_MS);
  }

  #scheduleRetry(ms: number): void {
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.#open();
    }, ms);
    this.#retry.unref();
  }

  /**
   * `stopping`, then a normal close: the edge reads both in order and counts no death. After `stopping` the
   * edge sends no more calls here (they go over HTTP); the close waits for the answers of those running.
   */
  #closeOnPurpose(reason: StoppingReason): void {
    const ws = this.#ws;
    this.#ws = undefined;
    clearInterval(this.#pinger);
    if (!ws) return;
    if (ws.readyState !== WebSocket.OPEN) {
      ws.terminate();
      return;
    }
    this.#send(ws, { type: 'stopping', reason });
    const serving = this.#serving.get(ws);
    if (!serving) {
      ws.close(1000, reason);
      return;
    }
    const timer = setTimeout(() => serving.idle?.(), ANSWER_GRACE_MS);
    timer.unref();
    serving.idle = () => {
      clearTimeout(timer);
      serving.idle = undefined;
      ws.close(1000, reason);
    };
  }

  #send(ws: WebSocket, msg: NodeLinkMessage): void {
    this.#sendText(ws, JSON.stringify(msg));
  }

  /** Sent if the link is still open (an answer to a call on a link since closed is lost with it). */
  #sendText(ws: WebSocket, text: string): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(text);
  }
}
