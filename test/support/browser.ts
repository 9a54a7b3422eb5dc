// A real browser for the status page: Debian's Chromium driven by puppeteer-core (nothing is
// downloaded), and what a person sees of a namespace, read from the rendered page.
import { existsSync } from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/** CHROMIUM, or Debian's chromium package. A missing browser fails the test: it is never skipped. */
export async function launchChromium(): Promise<Browser> {
  const path = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(path))
    throw new Error(
      `no Chromium at ${path}: the status page test drives a real browser. Install it (apt-get install chromium) or set CHROMIUM to a Chrome/Chromium binary`,
    );
  // --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
  return puppeteer.launch({
    executablePath: path,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

/** A namespace's card as the page shows it (innerText: what is rendered, not the markup). */
export interface NamespaceView {
  badge: string;
  detail: string;
  applied: { sha: string; subject: string } | undefined;
  deployed: { sha: string; subject: string } | undefined;
  workloads: { name: string; state: string; detail: string }[];
  lastError: string | undefined;
  runs: { sha: string; result: string; subject: string; steps: string; bar: string[]; reason: string }[];
}

// Plain JavaScript, run in the page: a function compiled by tsx may refer to helpers the page lacks.
const read = `(ns) => {
  const card = document.querySelector('section[data-namespace="' + ns + '"]');
  if (!card) return undefined;
  const text = (sel, root) => root.querySelector(sel)?.innerText.trim() ?? '';
  const commit = (key) => {
    const box = card.querySelector('[data-commit="' + key + '"]');
    const sha = box && text('.sha', box);
    return sha ? { sha, subject: text('.subject', box) } : undefined;
  };
  const error = card.querySelector('[data-section="last-error"]');
  return {
    badge: text('.badge', card),
    detail: text('header .detail', card),
    applied: commit('applied'),
    deployed: commit('deployed'),
    workloads: [...card.querySelectorAll('tr[data-workload]')].map((tr) => ({
      name: tr.dataset.workload, state: text('.state', tr), detail: text('.msg', tr),
    })),
    lastError: error ? error.innerText : undefined,
    runs: [...card.querySelectorAll('li.run')].map((li) => ({
      sha: li.dataset.sha, result: text('.result', li), subject: text('.subject', li),
      steps: text('.steps', li), bar: [...li.querySelectorAll('.bar .seg')].map((s) => s.innerText.trim()),
      reason: text('.reason', li),
    })),
  };
}`;

export function namespaceView(page: Page, ns: string): Promise<NamespaceView | undefined> {
  return page.evaluate(`(${read})(${JSON.stringify(ns)})`) as Promise<NamespaceView | undefined>;
}
