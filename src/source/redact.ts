// Keeps credentials out of logs, events, metrics and error messages.

const userinfo = /([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi;

/** Secret values registered at start-up (tokens, passwords, keys); replaced wherever they appear. */
const secrets = new Set<string>();

export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) secrets.add(value);
}

export function redact(text: string): string {
  let out = text.replace(userinfo, '$1***@');
  for (const s of secrets) out = out.split(s).join('***');
  return out;
}

/** The URL without user:password, safe to show. */
export function displayUrl(url: string): string {
  return url.replace(userinfo, '$1');
}
