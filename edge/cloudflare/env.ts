/**
 * The Worker's bindings: Durable Object namespaces, the static assets of the browser app, and the
 * edge's settings as variables/secrets — one optional string per setting of EdgeConfigSchema, derived
 * from it so that a new setting needs no line here (workerd.capnp lists them too; a unit test keeps it
 * in step: test/unit/worker-bindings.test.ts).
 */
import type { EdgeConfigSchema } from '../core/config.ts';
import type { NodeRegistryObject } from './registry.ts';
import type { RoomObject } from './room-host.ts';

/** Every TREFFPUNKT_* setting of the edge, as the Worker receives it (unset: absent, or "" on workerd). */
export type EdgeSettings = { [K in keyof typeof EdgeConfigSchema.shape]?: string };

export type Env = EdgeSettings & {
  ROOMS: DurableObjectNamespace<RoomObject>;
  REGISTRY: DurableObjectNamespace<NodeRegistryObject>;
  /** The browser app (dist/web): Workers static assets on Cloudflare, a disk service on workerd. */
  ASSETS: Fetcher;
};

/** Settings as the string map parseEdgeConfig reads (bindings other than strings are ignored by it). */
export function settings(env: Env): Record<string, string | undefined> {
  return env as unknown as Record<string, string | undefined>;
}
