/**
 * The usual e2e setup: for a describe block, one stack (Node edge, one media node with one worker, plus
 * whatever `opts` adds) and one Chromium, started before its tests and stopped after them.
 *
 * @example const e2e = stackAndChromium(); … e2e.stack.edgeUrl … await e2e.chromium.newPage()
 */
import { after, before } from 'node:test';
import { launchChromium, type Chromium } from './browser.ts';
import { startStack, type Stack } from './stack.ts';

export function stackAndChromium(opts: Parameters<typeof startStack>[0] = {}): {
  readonly stack: Stack;
  readonly chromium: Chromium;
} {
  let stack: Stack | undefined;
  let chromium: Chromium | undefined;
  before(async () => {
    stack = await startStack({ runtime: 'node', workers: 1, ...opts });
    chromium = await launchChromium();
  });
  after(async () => {
    await chromium?.close();
    await stack?.stop();
  });
  return {
    get stack() {
      if (!stack) throw new Error('the stack is not started (used outside a test?)');
      return stack;
    },
    get chromium() {
      if (!chromium) throw new Error('Chromium is not started (used outside a test?)');
      return chromium;
    },
  };
}
