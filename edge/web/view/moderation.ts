/**
 * What a moderator's clicks in the participant list do: each action goes to the edge (which decides:
 * it refuses others' with FORBIDDEN), irreversible ones after a confirmation dialog, and a refusal or
 * failure is said in a notice. Also the notice when someone new waits in the lobby.
 */
import { ErrorCode } from '../../../shared/errors.ts';
import { confirmDialog } from '../dialog.ts';
import type { Strings } from '../i18n.ts';
import type { Meeting } from '../meeting/meeting.ts';
import type { LobbyEntry } from '../meeting/types.ts';
import type { ModerationActions } from './people-panel.ts';
import { SignalingError } from '../signaling.ts';

export interface ModerationHooks {
  meeting(): Meeting;
  toast(text: (s: Strings) => string): void;
  /** Whether the meeting is over here (a failure then needs no notice). */
  ended(): boolean;
  /** We ended the meeting for everyone. */
  endedByUs(): void;
}

export function moderationActions(h: ModerationHooks): ModerationActions {
  /** Runs a moderator action; a refusal or failure is said in a notice (the edge decides, not the page). */
  const moderate = async (action: () => Promise<void>): Promise<void> => {
    try {
      await action();
    } catch (err) {
      if (h.ended()) return;
      console.warn('treffpunkt: moderator action failed', err);
      h.toast((s) =>
        err instanceof SignalingError && err.code === ErrorCode.Forbidden ? s.forbidden : s.actionFailed,
      );
    }
  };
  return {
    mute: (p, source) => void moderate(() => h.meeting().muteParticipant(p.id, source)),
    askToUnmute: (p, source) =>
      void moderate(async () => {
        await h.meeting().askToUnmute(p.id, source);
        h.toast((s) => s.askedToUnmute(p.name));
      }),
    remove: (p) =>
      void moderate(async () => {
        if (
          await confirmDialog({
            title: (s) => s.removeTitle(p.name),
            text: (s) => s.removeText,
            confirm: (s) => s.remove,
          })
        )
          await h.meeting().removeParticipant(p.id);
      }),
    admit: (entry) => void moderate(() => h.meeting().admit(entry.id)),
    refuse: (entry) => void moderate(() => h.meeting().refuse(entry.id)),
    lock: (locked) => void moderate(() => h.meeting().lockRoom(locked)),
    endMeeting: () =>
      void moderate(async () => {
        if (!(await confirmDialog({ title: (s) => s.endTitle, text: (s) => s.endText, confirm: (s) => s.endMeeting })))
          return;
        await h.meeting().endMeeting();
        h.endedByUs();
      }),
  };
}

/** Says who newly waits in the lobby (a moderator sees the list change; only newcomers get a notice). */
export class LobbyWatch {
  #seen = new Set<string>();

  update(waiting: LobbyEntry[], toast: (text: (s: Strings) => string) => void): void {
    const before = this.#seen;
    this.#seen = new Set(waiting.map((w) => w.id));
    for (const w of waiting) if (!before.has(w.id)) toast((s) => s.waitingToJoin(w.name));
  }
}
