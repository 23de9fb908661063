/**
 * Webhook delivery, runtime-neutral (fetch, timers, WebCrypto): events go into a bounded queue per
 * receiver and are posted one at a time, signed (shared/webhooks.ts), retried with exponential backoff
 * up to a bound. A room only enqueues (`emit` never waits, never throws): a receiver that hangs or fails
 * costs its own queue, which drops the newest events once it holds `maxQueued` (counted and logged once
 * per burst), never a room's time.
 */
import {
  signWebhook,
  WEBHOOK_SIGNATURE_HEADER,
  type WebhookEvent,
  type WebhookEventType,
  type WebhookReceiver,
} from '../../../shared/webhooks.ts';
import type { Logger } from '../logger.ts';
import { type EdgeMetrics, noMetrics } from '../metrics.ts';
import type { Role } from '../../../shared/signaling.ts';

/** What a room tells: the queue stamps id and time, and drops the name unless the operator opted in. */
export interface WebhookSink {
  emit(type: WebhookEventType, room: string, participant?: { id: string; role: Role; name: string }): void;
}

export const noWebhooks: WebhookSink = { emit: () => {} };

export interface WebhookQueueOptions {
  receivers: readonly WebhookReceiver[];
  log: Logger;
  metrics?: EdgeMetrics;
  /** Send participants' display names (TREFFPUNKT_WEBHOOK_PERSONAL_DATA). Default: no. */
  personalData?: boolean;
  /** Events waiting per receiver before new ones are dropped. */
  maxQueued?: number;
  /** Attempts per event, the first included. */
  maxAttempts?: number;
  /** Backoff: baseDelayMs × 2^(attempt-1), at most maxDelayMs, ±20 % jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** One attempt's deadline, response included. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

interface Pending {
  event: WebhookEvent;
  body: string;
  attempts: number;
}

/**
 * The wait before attempt `failed + 1`: base × 2^(failed−1), at most `max`, ±20 % so that receivers that
 * come back are not hit by every edge at the same instant.
 */
export function retryDelayMs(failed: number, baseMs: number, maxMs: number, random = Math.random()): number {
  return Math.round(Math.min(maxMs, baseMs * 2 ** (failed - 1)) * (0.8 + 0.4 * random));
}

class ReceiverQueue {
  readonly #receiver: WebhookReceiver;
  readonly #o: Required<Omit<WebhookQueueOptions, 'receivers' | 'personalData'>>;
  readonly #items: Pending[] = [];
  #busy = false;
  #droppedInARow = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(receiver: WebhookReceiver, o: Required<Omit<WebhookQueueOptions, 'receivers' | 'personalData'>>) {
    this.#receiver = receiver;
    this.#o = o;
  }

  wants(type: WebhookEventType): boolean {
    return !this.#receiver.events || this.#receiver.events.includes(type);
  }

  get size(): number {
    return this.#items.length;
  }

  push(event: WebhookEvent, body: string): void {
    if (this.#items.length >= this.#o.maxQueued) {
      this.#o.metrics.webhook('dropped');
      // Once per burst: a dead receiver must not turn every join into a log line.
      if (this.#droppedInARow++ === 0)
        this.#o.log.warn(
          { receiver: this.#origin(), queued: this.#items.length },
          'webhook queue full, dropping events for this receiver',
        );
      return;
    }
    this.#droppedInARow = 0;
    this.#items.push({ event, body, attempts: 0 });
    this.#next();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }

  /** The receiver's origin for logs: its path may carry a token. */
  #origin(): string {
    return new URL(this.#receiver.url).origin;
  }

  #next(): void {
    if (this.#busy || this.#closed || this.#items.length === 0) return;
    this.#busy = true;
    void this.#deliver(this.#items[0]!);
  }

  async #deliver(item: Pending): Promise<void> {
    item.attempts++;
    let ok = false;
    let why = '';
    try {
      const signature = await signWebhook(this.#receiver.secret, item.body, Math.floor(Date.now() / 1000));
      const res = await this.#o.fetch(this.#receiver.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [WEBHOOK_SIGNATURE_HEADER]: signature },
        body: item.body,
        signal: AbortSignal.timeout(this.#o.timeoutMs),
        redirect: 'manual',
      });
      await res.body?.cancel().catch(() => {});
      ok = res.status >= 200 && res.status <= 299;
      why = `HTTP ${res.status}`;
    } catch (err) {
      why = (err as Error).name === 'TimeoutError' ? 'timed out' : 'unreachable';
    }
    if (this.#closed) return;
    if (ok || item.attempts >= this.#o.maxAttempts) {
      this.#items.shift();
      this.#o.metrics.webhook(ok ? 'ok' : 'failed');
      if (!ok)
        this.#o.log.warn(
          { receiver: this.#origin(), event: item.event.type, attempts: item.attempts, why },
          'webhook given up',
        );
      this.#busy = false;
      this.#next();
      return;
    }
    this.#o.metrics.webhook('retry');
    const delay = retryDelayMs(item.attempts, this.#o.baseDelayMs, this.#o.maxDelayMs);
    this.#o.log.debug({ receiver: this.#origin(), attempts: item.attempts, why, delay }, 'webhook retry');
    this.#timer = setTimeout(() => {
      this.#busy = false;
      this.#next();
    }, delay);
  }
}

export class WebhookQueue implements WebhookSink {
  readonly #queues: ReceiverQueue[];
  readonly #personalData: boolean;

  constructor({ receivers, personalData = false, ...rest }: WebhookQueueOptions) {
    const o = {
      log: rest.log,
      metrics: rest.metrics ?? noMetrics,
      maxQueued: rest.maxQueued ?? 1000,
      maxAttempts: rest.maxAttempts ?? 6,
      baseDelayMs: rest.baseDelayMs ?? 1000,
      maxDelayMs: rest.maxDelayMs ?? 60_000,
      timeoutMs: rest.timeoutMs ?? 5000,
      fetch: rest.fetch ?? ((input, init) => fetch(input, init)),
    };
    this.#queues = receivers.map((r) => new ReceiverQueue(r, o));
    this.#personalData = personalData;
  }

  emit(type: WebhookEventType, room: string, participant?: { id: string; role: Role; name: string }): void {
    const targets = this.#queues.filter((q) => q.wants(type));
    if (targets.length === 0) return;
    const event: WebhookEvent = {
      id: crypto.randomUUID(),
      type,
      at: Date.now(),
      room,
      ...(participant
        ? {
            participant: {
              id: participant.id,
              role: participant.role,
              ...(this.#personalData ? { name: participant.name } : {}),
            },
          }
        : {}),
    };
    const body = JSON.stringify(event);
    for (const q of targets) q.push(event, body);
  }

  /** Events waiting, over all receivers (for metrics and tests). */
  get queued(): number {
    return this.#queues.reduce((n, q) => n + q.size, 0);
  }

  close(): void {
    for (const q of this.#queues) q.close();
  }
}
