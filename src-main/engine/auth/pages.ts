/**
 * The small pages the browser shows when it comes back to Mailroom after
 * Microsoft's sign-in. Self-contained (no scripts, no external resources)
 * and served with a CSP that allows nothing else.
 */

/** What the page says. */
export interface ResultPage {
  kind: 'success' | 'failure';
  title: string;
  message: string;
  hint?: string;
  code?: string;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The page's Content-Security-Policy: inline styles only. */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Renders a result page as HTML. */
export function renderResultPage(page: ResultPage): string {
  const ok = page.kind === 'success';
  const colour = ok ? '#0e700e' : '#b10e1c';
  const icon = ok ? '&#10004;' : '&#10006;';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mailroom: ${escape(page.title)}</title>
<style>
body{font-family:"Segoe UI",system-ui,sans-serif;background:#f5f5f5;color:#242424;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;border-radius:8px;box-shadow:0 2px 8px rgba(0,0,0,.14);padding:32px 40px;max-width:560px}
h1{font-size:20px;margin:0 0 12px;display:flex;gap:10px;align-items:center}
.icon{color:${colour};font-size:24px}
p{line-height:1.5;margin:8px 0}
.hint{background:#f0f0f0;border-left:4px solid ${colour};padding:8px 12px}
.code{color:#616161;font-size:12px}
@media (prefers-color-scheme: dark){body{background:#1f1f1f;color:#fff}main{background:#292929}.hint{background:#333}.code{color:#adadad}}
</style></head>
<body><main role="${ok ? 'status' : 'alert'}">
<h1><span class="icon" aria-hidden="true">${icon}</span>${escape(page.title)}</h1>
<p>${escape(page.message)}</p>
${page.hint ? `<p class="hint">${escape(page.hint)}</p>` : ''}
${page.code ? `<p class="code">Code: ${escape(page.code)}</p>` : ''}
<p>You can close this tab and return to Mailroom.</p>
</main></body></html>
`;
}
