/**
 * The person's choices kept in this browser (name, devices, camera/microphone off), under
 * `treffpunkt.<key>` in localStorage and nowhere else. Storage may be disabled: choices then last for
 * this page only.
 */
export const stored = {
  get(key: string): string | undefined {
    try {
      return localStorage.getItem(`treffpunkt.${key}`) ?? undefined;
    } catch {
      return undefined;
    }
  },
  set(key: string, value: string): void {
    try {
      localStorage.setItem(`treffpunkt.${key}`, value);
    } catch {
      // Storage disabled: choices last for this page only.
    }
  },
};
