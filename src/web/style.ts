// The status page's stylesheet, inline (no external assets): light cards, one colour per state.
export const style = `
:root {
  --bg: #f4f5f7; --card: #fff; --line: #e3e6ea; --text: #1d2430; --muted: #6b7480;
  --ready: #1f8a4c; --ready-bg: #e4f5ea; --progress: #1d6fd6; --progress-bg: #e3eefc;
  --failed: #c9302c; --failed-bg: #fbe6e5; --suspended: #7a6a2a; --suspended-bg: #f5f0d8;
  --unknown: #59616b; --unknown-bg: #eceef0;
  --seen: #9aa7b8; --applied: #7c5cd6; --healthy: #2fa862; --notified: #17a2b8;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", "Liberation Sans", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 20px 32px; }
code, pre, .sha { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 12.5px; }
h1 { font-size: 18px; margin: 0; font-weight: 600; }
h2 { font-size: 17px; margin: 0; font-weight: 600; }
h3 { font-size: 12px; margin: 14px 0 6px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); font-weight: 600; }
.muted { color: var(--muted); }
.top { display: flex; align-items: center; gap: 14px; flex-wrap: wrap; margin-bottom: 14px; }
.top .grow { flex: 1; }
.pill { display: inline-block; padding: 2px 9px; border-radius: 999px; font-size: 12px; font-weight: 600;
  background: var(--unknown-bg); color: var(--unknown); white-space: nowrap; }
.live::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%;
  background: var(--ready); margin-right: 6px; vertical-align: 1px; }
.banner { padding: 10px 14px; border-radius: 8px; margin-bottom: 14px; background: var(--suspended-bg);
  color: var(--suspended); border: 1px solid #e8dfb5; }
#conn { position: fixed; bottom: 12px; right: 12px; background: var(--failed); color: #fff;
  padding: 8px 12px; border-radius: 6px; box-shadow: 0 2px 8px rgba(0,0,0,.2); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 18px;
  margin-bottom: 14px; box-shadow: 0 1px 2px rgba(20,30,40,.04); }
.card > header { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
.card > header .detail { color: var(--muted); flex: 1; min-width: 200px; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }
.card.failed { border-left: 4px solid var(--failed); }
.card.ready { border-left: 4px solid var(--ready); }
.card.progressing { border-left: 4px solid var(--progress); }
.card.suspended { border-left: 4px solid var(--suspended); }
.badge { padding: 3px 12px; border-radius: 999px; font-weight: 700; font-size: 13px; letter-spacing: .02em; }
.ready .badge, .badge.ready, .result.deployed, .state.healthy { background: var(--ready-bg); color: var(--ready); }
.progressing .badge, .badge.progressing, .result.progressing, .state.progressing { background: var(--progress-bg); color: var(--progress); }
.failed .badge, .badge.failed, .result.failed, .state.failed { background: var(--failed-bg); color: var(--failed); }
.suspended .badge, .badge.suspended, .result.superseded { background: var(--suspended-bg); color: var(--suspended); }
.unknown .badge { background: var(--unknown-bg); color: var(--unknown); }
.progressing .badge::before { content: "● "; animation: pulse 1.2s ease-in-out infinite; }
@keyframes pulse { 50% { opacity: .25; } }
.source dl, .commits { display: grid; gap: 4px 14px; margin: 10px 0 0; }
.source dl { grid-template-columns: minmax(0, 2fr) minmax(0, .8fr) minmax(0, 3fr) minmax(0, 1.4fr); }
.source dt { color: var(--muted); font-size: 12px; }
.source .subject { font-weight: 600; }
.source dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
.commits { grid-template-columns: 1fr 1fr; gap: 12px; margin-top: 12px; }
.commit { border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; min-width: 0; }
.commit h3 { margin-top: 0; }
.commit .subject { font-weight: 600; overflow-wrap: anywhere; }
.sha { background: #eef0f3; padding: 1px 6px; border-radius: 4px; }
table { border-collapse: collapse; width: 100%; }
th { text-align: left; font-weight: 600; color: var(--muted); font-size: 12px; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
td.msg { overflow-wrap: anywhere; }
.state, .result { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; }
.result { min-width: 86px; text-align: center; }
pre.error { margin: 0; padding: 10px 12px; border-radius: 6px; background: var(--failed-bg); color: #8f1f1b;
  white-space: pre-wrap; overflow-wrap: anywhere; border: 1px solid #f1c4c2; }
.legend { display: flex; gap: 16px; font-size: 12px; color: var(--muted); margin-bottom: 6px; flex-wrap: wrap; }
.legend i.seg { display: inline-block; width: 14px; height: 10px; min-width: 0; border-radius: 2px;
  margin-right: 5px; vertical-align: -1px; }
ol.timeline { list-style: none; padding: 0; margin: 0; }
.run { padding: 8px 0; border-top: 1px solid var(--line); }
.run:first-child { border-top: 0; }
.run-head { display: flex; align-items: baseline; gap: 8px; min-width: 0; }
.run-head .subject { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.run-head .who { color: var(--muted); white-space: nowrap; margin-left: auto; padding-left: 8px; }
.bar { display: flex; height: 20px; margin: 6px 0 4px; min-width: 220px; max-width: 100%; }
.seg { flex-basis: 0; min-width: 34px; color: #fff; font-size: 11px; font-weight: 600; text-align: center;
  line-height: 20px; overflow: hidden; white-space: nowrap; border-right: 2px solid var(--card); }
.seg:first-child { border-radius: 4px 0 0 4px; }
.seg:last-child { border-radius: 0 4px 4px 0; border-right: 0; }
.seg.seen { background: var(--seen); } .seg.applied { background: var(--applied); }
.seg.healthy { background: var(--healthy); } .seg.notified { background: var(--notified); }
.seg.end { flex: 0 0 22px; min-width: 22px; background: var(--failed); }
.seg.end.superseded { background: #b9a24a; }
.seg.pending { flex: 0 0 40px; background: repeating-linear-gradient(45deg, var(--progress), var(--progress) 6px, #5b97e6 6px, #5b97e6 12px);
  animation: pulse 1.2s ease-in-out infinite; }
.steps { font-size: 12px; color: var(--muted); }
.steps b { color: var(--text); font-weight: 600; }
.reason { font-size: 12.5px; color: var(--failed); margin-top: 2px; overflow-wrap: anywhere; }
.result.superseded + code + .subject { color: var(--muted); }
footer { color: var(--muted); font-size: 12px; text-align: center; }
@media (max-width: 760px) { .commits, .source dl { grid-template-columns: 1fr; } }
`;
