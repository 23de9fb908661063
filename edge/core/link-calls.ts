/**
 * The control calls in flight on one node link (shared/node-link.ts, issue 14): each call gets a number,
 * goes out as a `call` frame and ends with the node's `result` or `error` frame of that number, with the
 * caller's signal (its deadline, or the room finding the node lost), or when the link closes — then at
 * once, so that a room moving participants off a dead node does not wait for deadlines.
 *
 * This only carries frames; what a call means, its deadline and how its answer is checked are the
 * media node client's (edge/core/media-node-client.ts), the same for the link and for HTTP.
 */
import { type EdgeLinkMessage, fitsLinkCallFrame, type LinkAnswer } from '../../shared/node-link.ts';

/** The node's answer to one call, not yet checked: `response` or `error` as the node sent them. */
export type LinkCallAnswer = { ok: true; response: unknown } | { ok: false; error: unknown };

interface Pending {
  resolve(answer: LinkCallAnswer): void;
  reject(err: Error): void;
}

/** Call frames go out as text on the link's socket. */
export type SendFrame = (text: string) => void;

export class LinkCalls {
  readonly #send: SendFrame;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  /** Why the link closed; no call starts after that. */
  #closed: string | undefined;

  constructor(send: SendFrame) {
    this.#send = send;
  }

  /** Calls waiting for their answer. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /**
   * Sends `op` with its route `ids` and `body` (checked by the caller) and resolves with the node's answer.
   * Undefined when nothing was sent: the link is closed, or the frame would exceed MAX_LINK_CALL_BYTES
   * (the caller uses HTTP then). The promise rejects when `signal` aborts (with its reason) or the link
   * closes, sending or waiting.
   */
  call(
    op: string,
    ids: Record<string, string>,
    body: unknown,
    signal: AbortSignal,
  ): Promise<LinkCallAnswer> | undefined {
    if (this.#closed !== undefined) return undefined;
    const id = this.#nextId++;
    const frame: EdgeLinkMessage = { type: 'call', id, op, ids, body };
    const text = JSON.stringify(frame);
    if (!fitsLinkCallFrame(text)) return undefined;
    return new Promise<LinkCallAnswer>((resolve, reject) => {
      if (signal.aborted) {
        reject(reasonOf(signal));
        return;
      }
      const onAbort = () => {
        this.#pending.delete(id);
        reject(reasonOf(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const done = () => signal.removeEventListener('abort', onAbort);
      this.#pending.set(id, {
        resolve: (answer) => {
          done();
          resolve(answer);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      });
      try {
        this.#send(text);
      } catch (err) {
        this.#end(id)?.reject(new Error('the node link refused the call', { cause: err }));
      }
    });
  }

  /**
   * The node's answer: ends its call. An answer for a number not in flight (its call timed out or was
   * aborted, or the node made it up) is ignored; returns whether one was waiting.
   */
  answer(msg: LinkAnswer): boolean {
    const pending = this.#end(msg.id);
    if (!pending) return false;
    pending.resolve(msg.type === 'result' ? { ok: true, response: msg.response } : { ok: false, error: msg.error });
    return true;
  }

  /** The link closed (`why`): every call in flight fails now, and no new one is sent here. */
  close(why: string): void {
    this.#closed ??= why;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(new Error(`the node link closed: ${why}`));
  }

  #end(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    this.#pending.delete(id);
    return pending;
  }
}

function reasonOf(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
