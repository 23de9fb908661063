/**
 * Imported first by app.ts, before any schema is built: zod probes `new Function` for its JIT parser
 * when an object schema is created, and the page's CSP (no eval) reports every such probe as a
 * violation. jitless skips the probe; parsing is the same, only without generated code.
 */
import { z } from 'zod';

z.config({ jitless: true });
