/**
 * A control call that came on the node link (shared/node-link.ts, issue 14), run as the HTTP control API
 * runs a request (control-calls.ts) and turned into the frame that answers it: `result` with the response,
 * or `error` with the code and message an HTTP error body would carry. The frame always fits the link:
 * an answer too large for it becomes an error of that call alone, instead of a frame the edge would
 * refuse by closing the link (which fails every call on it).
 */
import { ErrorCode } from '../shared/errors.ts';
import {
  type LinkCall,
  LinkCallId,
  fitsLinkCallFrame,
  type NodeLinkMessage,
  parseLinkFrame,
} from '../shared/node-link.ts';
import type { ControlCalls } from './control-calls.ts';

/** The answer frame (text) to `call`; `calls` undefined: this node serves no calls on its link. */
export async function answerLinkCall(calls: ControlCalls | undefined, call: LinkCall): Promise<string> {
  if (!calls) return errorFrame(call.id, ErrorCode.NotFound, 'this node serves no control calls on its link');
  const outcome = await calls.run(
    call.op,
    (name) => (Object.hasOwn(call.ids, name) ? call.ids[name] : undefined),
    () => call.body,
  );
  if (!outcome.ok) return errorFrame(call.id, outcome.error.code, outcome.error.message);
  let text: string | undefined;
  try {
    text = JSON.stringify({ type: 'result', id: call.id, response: outcome.response } satisfies NodeLinkMessage);
  } catch {
    text = undefined;
  }
  return text !== undefined && fitsLinkCallFrame(text)
    ? text
    : errorFrame(call.id, ErrorCode.MediaNodeError, 'the answer does not fit the node link');
}

/**
 * The answer to a frame that is not a valid call but has a call's number: BAD_MESSAGE, so that the edge's
 * call ends now rather than at its deadline. Undefined for a frame without a readable number.
 */
export function answerBadCallFrame(frame: string): string | undefined {
  const call = parseLinkFrame(LinkCallId, frame);
  return call ? errorFrame(call.id, ErrorCode.BadMessage, 'not a valid call frame') : undefined;
}

function errorFrame(id: number, code: ErrorCode, message: string): string {
  return JSON.stringify({ type: 'error', id, error: { code, message } } satisfies NodeLinkMessage);
}
