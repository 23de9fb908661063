/** The invite link: the room's address (without any token or switch), copied to the clipboard. */
import type { Strings } from '../i18n.ts';

export function inviteUrl(room: string): string {
  return `${location.origin}/${encodeURIComponent(room)}`;
}

/** Copies the link; where the clipboard is refused, the notice shows the link instead. */
export async function copyInvite(room: string, toast: (text: (s: Strings) => string) => void): Promise<void> {
  const url = inviteUrl(room);
  try {
    await navigator.clipboard.writeText(url);
    toast((s) => s.inviteCopied);
  } catch {
    toast((s) => `${s.inviteLabel}: ${url}`);
  }
}
