// HTML built with a tagged template that escapes every interpolated value: commit subjects,
// authors and error messages come from git and the API, so none of them may become markup.

/** Markup that is already safe (built by `html`): interpolated as is. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const entities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text safe in element content and in quoted attribute values. */
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => entities[c] ?? c);

/** A value inside `html`: Html as is, lists joined, nothing for undefined/null/false, the rest escaped. */
type Part = Html | string | number | boolean | undefined | null | readonly Part[];

function part(v: Part): string {
  if (v instanceof Html) return v.text;
  if (Array.isArray(v)) return v.map(part).join('');
  if (v === undefined || v === null || v === false) return '';
  return escapeHtml(String(v));
}

/** `html\`<b>${subject}</b>\``: every value escaped unless it is Html itself. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  return new Html(strings.reduce((out, s, i) => out + s + (i < values.length ? part(values[i]) : ''), ''));
}

/** Markup written in this codebase (the stylesheet, the script): never data. */
export const trusted = (text: string): Html => new Html(text);
