// View-level shortcuts: a handler that runs for keys pressed outside text fields while the view is mounted.
import { onBeforeUnmount, onMounted } from 'vue';

const NOT_TEXT = new Set(['range', 'checkbox', 'radio', 'button', 'submit', 'reset', 'color']);

/** Whether keys go into a text field (sliders, checkboxes and buttons leave shortcuts working). */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target instanceof HTMLInputElement) return !NOT_TEXT.has(target.type);
  return target.isContentEditable || ['TEXTAREA', 'SELECT'].includes(target.tagName);
}

/** Class index for keys 1–9 then 0, or null. */
export function classIndexOfKey(e: KeyboardEvent): number | null {
  if (!/^Digit[0-9]$/.test(e.code) && !/^[0-9]$/.test(e.key)) return null;
  const d = Number(e.key);
  if (!Number.isInteger(d)) return null;
  return d === 0 ? 9 : d - 1;
}

/** Calls `handler` for keydowns not aimed at a text field and not in a dialog; it returns true when it used the key. */
export function useKeys(handler: (e: KeyboardEvent) => boolean): void {
  function onKey(e: KeyboardEvent): void {
    if (e.defaultPrevented || isTyping(e.target)) return;
    // Space and Enter on a focused button or link activate it; a shortcut must not act a second time.
    if ((e.key === ' ' || e.key === 'Enter') && e.target instanceof HTMLElement && e.target.closest('button, a'))
      return;
    if (document.querySelector('[aria-modal="true"]')) return;
    if (handler(e)) e.preventDefault();
  }
  onMounted(() => window.addEventListener('keydown', onKey));
  onBeforeUnmount(() => window.removeEventListener('keydown', onKey));
}
