// Keyboard navigation: Alt+1..6 or "g" then 1..6 opens a view; "?" toggles the help overlay; Escape closes it.
// ("g" then a digit exists because browsers on Linux and Windows keep Alt+digit for switching tabs.)
import { onBeforeUnmount, onMounted, ref, type Ref } from 'vue';
import { useRouter } from 'vue-router';

import { NAV_ITEMS } from '../navigation.js';

const G_TIMEOUT_MS = 1500;

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

export function useShortcuts(): { helpOpen: Ref<boolean> } {
  const router = useRouter();
  const helpOpen = ref(false);
  let gPressedAt = 0;

  function go(digit: string): boolean {
    const item = NAV_ITEMS.find((i) => i.digit === digit);
    if (item === undefined) return false;
    void router.push(item.path);
    return true;
  }

  function onKey(e: KeyboardEvent): void {
    if (e.key === 'Escape' && helpOpen.value) {
      helpOpen.value = false;
      e.preventDefault();
      return;
    }
    if (e.altKey && !e.ctrlKey && !e.metaKey && /^Digit[1-6]$/.test(e.code)) {
      if (go(e.code.slice(5))) e.preventDefault();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
    if (e.key === '?') {
      helpOpen.value = !helpOpen.value;
      e.preventDefault();
      return;
    }
    if (e.key === 'g') {
      gPressedAt = Date.now();
      return;
    }
    if (Date.now() - gPressedAt < G_TIMEOUT_MS && go(e.key)) {
      e.preventDefault();
    }
    gPressedAt = 0;
  }

  onMounted(() => window.addEventListener('keydown', onKey));
  onBeforeUnmount(() => window.removeEventListener('keydown', onKey));
  return { helpOpen };
}
