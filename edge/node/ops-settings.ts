/**
 * The Node edge's operations settings (docs/configuration.md §Operations): the metrics listener, the
 * admin token, webhook receivers. Node-only for now: the Worker has no metrics listener (Cloudflare's
 * analytics instead, docs/metrics.md) and is not wired to the admin API or webhooks yet.
 */
import { z } from 'zod';
import { ConfigError } from '../../shared/config-error.ts';
import { MetricsAddr, metricsListenerProblems } from '../../shared/metrics-endpoint.ts';
import { WebhookReceiver } from '../../shared/webhooks.ts';
import { describeIssues } from '../core/config.ts';

const flag = z
  .enum(['1', 'true', '0', 'false'], 'must be 1, true, 0 or false')
  .default('false')
  .transform((v) => v === '1' || v === 'true');
const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);

export const OpsSettingsSchema = z.object({
  TREFFPUNKT_METRICS_ADDR: MetricsAddr.optional(),
  TREFFPUNKT_METRICS_TOKEN: z.string().optional(),
  TREFFPUNKT_METRICS_ROOM_LABELS: flag,
  TREFFPUNKT_ADMIN_TOKEN: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -hex 32)').optional(),
  TREFFPUNKT_WEBHOOKS: z
    .string()
    .default('[]')
    .transform((raw, ctx) => {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON array of {"url", "secret", "events"?}' });
        return z.NEVER;
      }
    })
    .pipe(z.array(WebhookReceiver).max(16)),
  TREFFPUNKT_WEBHOOK_PERSONAL_DATA: flag,
  TREFFPUNKT_WEBHOOK_QUEUE: int(1000, 1, 100_000),
  TREFFPUNKT_WEBHOOK_MAX_ATTEMPTS: int(6, 1, 20),
  TREFFPUNKT_WEBHOOK_RETRY_MS: int(1000, 10, 600_000),
  TREFFPUNKT_WEBHOOK_TIMEOUT_MS: int(5000, 100, 60_000),
});

export type OpsSettings = z.infer<typeof OpsSettingsSchema>;

export function parseOpsSettings(env: Record<string, string | undefined>): OpsSettings {
  const set = Object.fromEntries(Object.keys(OpsSettingsSchema.shape).map((k) => [k, env[k] || undefined]));
  const parsed = OpsSettingsSchema.safeParse(set);
  if (!parsed.success)
    // The webhook setting holds secrets: zod's issues name the path and the rule, never the value.
    throw new ConfigError(describeIssues(parsed.error));
  const problems = metricsListenerProblems(parsed.data.TREFFPUNKT_METRICS_ADDR, parsed.data.TREFFPUNKT_METRICS_TOKEN);
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed.data;
}
