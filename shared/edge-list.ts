/**
 * The edges a browser app may reconnect to (`GET /api/edges`, from TREFFPUNKT_EDGE_URLS): origins only,
 * in the operator's order. The page adds its own origin first. Parsed by the app before it is used.
 */
import { z } from 'zod';

export const EDGE_LIST_PATH = '/api/edges';

export const EdgeList = z.object({
  edges: z.array(z.url({ protocol: /^https?$/ })).max(32),
});
export type EdgeList = z.infer<typeof EdgeList>;
