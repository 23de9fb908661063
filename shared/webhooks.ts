/**
 * Webhooks (docs/admin-api.md §Webhooks): the events the edge posts to an operator's receivers and how the
 * body is signed. The header follows Stripe's scheme so that existing verifiers fit:
 * `Treffpunkt-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the receiver's secret.
 * Participants appear by pseudonymous id and role; the display name only if the operator opts in.
 */
import { z } from 'zod';
import { Id, RoomName } from './ids.ts';
import { Role } from './signaling.ts';

export const WEBHOOK_SIGNATURE_HEADER = 'treffpunkt-signature';

export const WebhookEventType = z.enum(['room_started', 'room_ended', 'participant_joined', 'participant_left']);
export type WebhookEventType = z.infer<typeof WebhookEventType>;

export const WebhookEvent = z.object({
  /** Unique per event: receivers deduplicate retries by it. */
  id: z.string().min(1).max(64),
  type: WebhookEventType,
  /** When it happened, ms since the epoch. */
  at: z.number().int(),
  room: RoomName,
  participant: z
    .object({
      id: Id,
      role: Role,
      /** Only with TREFFPUNKT_WEBHOOK_PERSONAL_DATA=1. */
      name: z.string().optional(),
    })
    .optional(),
});
export type WebhookEvent = z.infer<typeof WebhookEvent>;

/** One receiver: where to post, its own secret, and which events it wants (all if unset). */
export const WebhookReceiver = z
  .object({
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    secret: z.string().min(16, 'must be at least 16 characters'),
    events: z.array(WebhookEventType).min(1).optional(),
  })
  .strict();
export type WebhookReceiver = z.infer<typeof WebhookReceiver>;

const encoder = new TextEncoder();

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function key(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
}

/** The signature header for `body`, sent at `timestampSeconds`. */
export async function signWebhook(secret: string, body: string, timestampSeconds: number): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', await key(secret), encoder.encode(`${timestampSeconds}.${body}`));
  return `t=${timestampSeconds},v1=${hex(mac)}`;
}

/**
 * A receiver's check (used by the tests; a receiver in another language does the same): the HMAC of
 * "<t>.<body>" matches one v1 value (compared by WebCrypto's verify, constant time) and t is within
 * `toleranceSeconds` of now.
 */
export async function verifyWebhook(
  secret: string,
  body: string,
  header: string,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = 300,
): Promise<boolean> {
  const parts = header.split(',').map((p) => p.trim().split('=', 2) as [string, string | undefined]);
  const t = parts.find(([k]) => k === 't')?.[1];
  if (!t || !/^\d{1,12}$/.test(t) || Math.abs(nowSeconds - Number(t)) > toleranceSeconds) return false;
  const k = await key(secret);
  const data = encoder.encode(`${t}.${body}`);
  let valid = false;
  for (const [name, value] of parts) {
    if (name !== 'v1' || !value || !/^[0-9a-f]{64}$/.test(value)) continue;
    const mac = new Uint8Array(value.match(/../g)!.map((h) => Number.parseInt(h, 16)));
    if (await crypto.subtle.verify('HMAC', k, mac, data)) valid = true;
  }
  return valid;
}
