// The page's only script: every 2 s it fetches the page again and swaps in the #status part when it
// changed (no reload, no flicker); while the page is hidden it waits. The Content-Security-Policy
// allows this script by its hash and no other, so injected markup could never run code.
import { createHash } from 'node:crypto';

export const refreshMs = 2000;

export const refreshScript = `(() => {
  const conn = document.getElementById('conn');
  async function refresh() {
    if (!document.hidden) {
      try {
        const res = await fetch(location.pathname, { cache: 'no-store', headers: { accept: 'text/html' } });
        if (!res.ok) throw new Error('HTTP ' + res.status);
        const next = new DOMParser().parseFromString(await res.text(), 'text/html');
        const fresh = next.getElementById('status');
        const shown = document.getElementById('status');
        if (fresh && shown && fresh.innerHTML !== shown.innerHTML) shown.innerHTML = fresh.innerHTML;
        if (next.title !== document.title) document.title = next.title;
        conn.hidden = true;
      } catch (err) {
        conn.textContent = 'Cannot reach the operator (' + err.message + '): retrying';
        conn.hidden = false;
      }
    }
    setTimeout(refresh, ${refreshMs});
  }
  setTimeout(refresh, ${refreshMs});
})();`;

/** The CSP source that allows exactly this script. */
export const refreshScriptHash = `'sha256-${createHash('sha256').update(refreshScript).digest('base64')}'`;
