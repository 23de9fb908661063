/**
 * A confirmation dialog (the native <dialog> element, modal: focus stays inside, Escape cancels) for
 * actions that cannot be undone, like removing someone or ending the meeting for everyone. Not
 * window.confirm(): that blocks the page (media and signaling included) and cannot be styled or
 * translated.
 */
import { el, tx } from './dom.ts';
import type { Strings } from './i18n.ts';

export function confirmDialog(opts: {
  title: (s: Strings) => string;
  text: (s: Strings) => string;
  confirm: (s: Strings) => string;
}): Promise<boolean> {
  return new Promise((resolve) => {
    const ok = el('button', { type: 'button', class: 'btn danger confirm-ok' }, tx(opts.confirm));
    const cancel = el(
      'button',
      { type: 'button', class: 'btn secondary confirm-cancel' },
      tx((s) => s.cancel),
    );
    const dialog = el(
      'dialog',
      {
        class: 'confirm',
        id: 'confirm-dialog',
        'aria-labelledby': 'confirm-title',
        'aria-describedby': 'confirm-text',
      },
      el('h2', { id: 'confirm-title' }, tx(opts.title)),
      el('p', { id: 'confirm-text' }, tx(opts.text)),
      el('div', { class: 'confirm-buttons' }, cancel, ok),
    );
    const previous = document.activeElement as HTMLElement | null;
    let answer = false;
    ok.addEventListener('click', () => {
      answer = true;
      dialog.close();
    });
    cancel.addEventListener('click', () => dialog.close());
    // Escape closes the dialog too ('cancel', then 'close').
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (previous?.isConnected) previous.focus();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus(); // the safe choice has the focus
  });
}
