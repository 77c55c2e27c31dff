// The status page's bulk sync section: what awaits upload to central, the upload under way with its rate
// and ETA, the budget, the last error, and Pause / Resume (GET /sync, POST /sync/pause, /sync/resume).
import { getJson, postJson } from '/page/api.js';

const $ = (id) => document.getElementById(id);

function bytes(n) {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${Math.round(n / 1024)} KiB`;
}

function lines(s) {
  if (!s.enabled) return [`not running: ${s.reason}`];
  const p = s.paused;
  const pauseText = p ? `paused (${p.by}: ${p.reason})${p.since ? ` since ${p.since}` : ''}` : 'running';
  const out = [
    `${pauseText}, ${s.online ? 'online' : 'offline'}`,
    `awaiting: ${s.awaiting.files} file(s), ${bytes(s.awaiting.bytes)}`,
  ];
  const c = s.current;
  if (c) {
    const pct = c.size > 0 ? Math.floor((100 * c.sent) / c.size) : 100;
    const eta = c.eta_s === null ? '?' : `${c.eta_s} s`;
    out.push(`uploading ${c.path}: ${pct}% of ${bytes(c.size)} at ${bytes(c.bytes_per_s)}/s, ETA ${eta}`);
  }
  out.push(`stored ${s.uploads.done}, failed ${s.uploads.failed}, sent ${bytes(s.uploads.bytes_sent)} since start`);
  out.push(`budget: ${s.budget.bytes_per_s === 0 ? 'unlimited' : `${bytes(s.budget.bytes_per_s)}/s`}`);
  if (s.unreported_lost > 0) out.push(`lost, central not told yet: ${s.unreported_lost}`);
  if (s.last_error) out.push(`last error: ${s.last_error}`);
  if (s.degraded) out.push(`degraded: ${s.degraded}`);
  return out;
}

let paused = false;

/** Fills the section from GET /sync; the button pauses or resumes bulk uploads here. */
export async function refreshSync() {
  const s = await getJson('/sync');
  $('sync-state').replaceChildren(
    ...lines(s).map((line) => {
      const li = document.createElement('li');
      li.textContent = line;
      return li;
    }),
  );
  paused = s.enabled && s.paused?.by === 'local';
  $('sync-toggle').hidden = !s.enabled;
  $('sync-toggle').textContent = paused ? 'Resume uploads' : 'Pause uploads';
}

$('sync-toggle').addEventListener('click', () => {
  void postJson(paused ? '/sync/resume' : '/sync/pause', paused ? {} : { reason: 'paused from the status page' })
    .then(refreshSync)
    .catch(() => undefined); // the next refresh says how it stands
});
