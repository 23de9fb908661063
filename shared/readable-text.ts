/**
 * Text that people read as someone's name or words, as the protocol accepts it (issue 10): display names,
 * chat messages and the ICE lines the app reports to the operator's log, normalised and stripped of what would make them look like something else.
 * shared/signaling.ts uses these schemas for its methods and re-exports them.
 */
import { z } from 'zod';

/**
 * Text people read as someone's name or words must look like what it is (issue 10). Code points that
 * change how the text around them is shown without being seen themselves: bidi embeddings, overrides,
 * isolates and marks (U+202E turns "pay to \u202Egnp.exe" into "pay to exe.png"), and zero-width or blank
 * fillers that make a name look empty or like someone else's. They are stripped: they come from
 * copy-paste as often as from attackers, and without them the text reads the same.
 */
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;
/** Invisible in chat text too; ZWJ/ZWNJ and variation selectors stay there (emoji, Persian, Indic scripts). */
const INVISIBLES = /[\u00ad\u115f\u1160\u180e\u200b\u2060-\u2064\u3164\ufeff\uffa0]/gu;
/**
 * In names, every default-ignorable code point (the set above, ZWJ, variation selectors, tags, …) and the
 * blank braille pattern: a name is short, and nothing in it may be invisible.
 */
const NAME_INVISIBLES = /[\p{Default_Ignorable_Code_Point}\u2800]/gu;
/** A UTF-16 surrogate without its partner: not text, and renders as garbage (or breaks encoders). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** C0 and C1 controls and DEL: never typed; a client that sends them is broken or hostile, so refused. */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/;
/** The same, but line feed and tab are text in a chat message. */
const CHAT_CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/**
 * A display name: NFC-normalised; control characters and lone surrogates refused; bidi controls and
 * invisible characters stripped; runs of white space made one space; trimmed; then 1-64 characters.
 * A name that is empty after this is refused (BAD_MESSAGE), so nobody is called "".
 */
export const DisplayName = z
  .string()
  .max(256, 'name must be at most 64 characters')
  .refine((s) => !LONE_SURROGATE.test(s), 'name must be valid Unicode text')
  .transform((s) => s.normalize('NFC'))
  .refine((s) => !CONTROLS.test(s), 'name must not contain control characters')
  .transform((s) => s.replace(BIDI_CONTROLS, '').replace(NAME_INVISIBLES, '').replace(/\s+/gu, ' ').trim())
  .pipe(
    z
      .string()
      .min(1, 'name must not be empty (invisible characters do not count)')
      .max(64, 'name must be at most 64 characters'),
  );

/**
 * How two names are compared when a guest must not take a verified participant's name: compatibility
 * forms folded (fullwidth "ＡＮＮＡ" is "anna") and case ignored. Lookalikes from other scripts are not
 * caught here; the verified mark in the app is what tells people apart.
 */
export function nameKey(name: string): string {
  return name.normalize('NFKC').toLowerCase();
}

/**
 * Chat text: NFC-normalised; control characters other than line feed and tab, and lone surrogates,
 * refused; bidi controls and invisible characters stripped; trimmed; then 1-2000 characters.
 */
export const ChatText = z
  .string()
  .max(8000, 'message must be at most 2000 characters')
  .refine((s) => !LONE_SURROGATE.test(s), 'message must be valid Unicode text')
  .transform((s) => s.normalize('NFC'))
  .refine((s) => !CHAT_CONTROLS.test(s), 'message must not contain control characters')
  .transform((s) => s.replace(BIDI_CONTROLS, '').replace(INVISIBLES, '').trim())
  .pipe(z.string().min(1, 'message must not be empty').max(2000, 'message must be at most 2000 characters'));

/**
 * One line of what ICE tried, as the app shows it ("host/udp → relay/udp: failed"): candidate types and
 * pair states, no addresses. It goes to the operator's log, so it is bounded and carries no control
 * characters (refused) and no bidi controls or invisibles (stripped).
 */
export const TriedLine = z
  .string()
  .max(200)
  .refine((s) => !LONE_SURROGATE.test(s) && !CONTROLS.test(s), 'must be text without control characters')
  .transform((s) => s.replace(BIDI_CONTROLS, '').replace(INVISIBLES, ''));
