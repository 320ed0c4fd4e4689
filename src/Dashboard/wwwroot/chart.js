// The runs chart of the main page (api/runs/chart): runs and failures of the last hour (per minute) or the last day
// (per 15 minutes) as inline SVG bars, failures at the foot of each bar. Refreshed every 10 s (the day: every minute).
'use strict';
(() => {
  const REFRESH_MS = { hour: 10000, day: 60000 };
  const WIDTH = 10; // a bucket's width in the SVG's units; the SVG is stretched to the panel's width
  const HEIGHT = 100;
  const SVG = 'http://www.w3.org/2000/svg';
  const { api, setText } = window.ActorSchedulerPage;
  const $ = id => document.getElementById(id);
  const chart = { window: 'hour', loadedAt: 0, asked: 0 };

  async function load() {
    const asked = ++chart.asked;
    let data;
    try {
      data = await api('api/runs/chart?window=' + chart.window);
    } catch (e) {
      if (asked === chart.asked) setText($('chart-total'), 'not available: ' + e.message);
      return;
    }
    if (asked !== chart.asked) return; // a later request (or the other window) answers
    chart.loadedAt = Date.now();
    draw(data);
  }

  function svg(tag, className, attributes = {}) {
    const e = document.createElementNS(SVG, tag);
    if (className) e.setAttribute('class', className);
    for (const [name, value] of Object.entries(attributes)) e.setAttribute(name, String(value));
    return e;
  }

  const rect = (className, x, y, height) => svg('rect', className, { x: x + 1, y, width: WIDTH - 2, height });
  const hourMinute = iso => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const plural = (n, word) => `${n.toLocaleString()} ${word}${n === 1 ? '' : 's'}`;

  function draw(data) {
    const buckets = data.buckets;
    const step = data.stepMinutes;
    const max = Math.max(1, ...buckets.map(b => b.runs));
    const scale = HEIGHT / max;
    const root = $('chart');
    root.setAttribute('viewBox', `0 0 ${buckets.length * WIDTH} ${HEIGHT}`);
    root.dataset.window = data.window;
    const bars = [svg('line', 'base', { x1: 0, y1: HEIGHT - 0.5, x2: buckets.length * WIDTH, y2: HEIGHT - 0.5 })];
    let runs = 0;
    let failed = 0;
    buckets.forEach((b, i) => {
      runs += b.runs;
      failed += b.failed;
      const x = i * WIDTH;
      const g = svg('g', 'bucket', { 'data-at': b.at, 'data-runs': b.runs, 'data-failed': b.failed });
      const title = svg('title');
      const end = new Date(Date.parse(b.at) + step * 60000).toISOString();
      title.textContent = `${hourMinute(b.at)}–${hourMinute(end)}: ${plural(b.runs, 'run')}, ${b.failed.toLocaleString()} failed`;
      g.append(title, svg('rect', 'hit', { x, y: 0, width: WIDTH, height: HEIGHT }));
      // A bar of a few runs beside one of thousands keeps at least 2 units, so that it can be seen.
      const failedHeight = b.failed > 0 ? Math.max(2, b.failed * scale) : 0;
      const okHeight = b.runs > b.failed ? Math.max(2, (b.runs - b.failed) * scale) : 0;
      if (failedHeight > 0) g.appendChild(rect('failed', x, HEIGHT - failedHeight, failedHeight));
      if (okHeight > 0) g.appendChild(rect('ok', x, Math.max(0, HEIGHT - failedHeight - okHeight), Math.min(okHeight, HEIGHT - failedHeight)));
      bars.push(g);
    });
    root.replaceChildren(...bars);

    const span = data.window === 'day' ? 'the last day' : 'the last hour';
    setText($('chart-total'), `${plural(runs, 'run')} · ${failed.toLocaleString()} failed · ${span}`);
    setText($('chart-max'), runs > 0 ? `${max.toLocaleString()} per ${step === 1 ? 'minute' : step + ' min'}` : '');
    $('chart-empty').hidden = runs > 0;
    setText($('chart-empty'), `No run ended in ${span}.`);
    axis(buckets);
  }

  /** Times under the bars: the first bucket, a quarter, half and three quarters in, and now. */
  function axis(buckets) {
    const labels = [0, 0.25, 0.5, 0.75].map(f => {
      const i = Math.round(f * buckets.length);
      const label = document.createElement('span');
      label.textContent = hourMinute(buckets[i].at);
      label.style.left = `${(i / buckets.length) * 100}%`;
      return label;
    });
    const now = document.createElement('span');
    now.textContent = 'now';
    now.className = 'now';
    $('chart-axis').replaceChildren(...labels, now);
  }

  const toggles = document.querySelectorAll('.toggle button[data-window]');
  toggles.forEach(button => button.addEventListener('click', () => {
    chart.window = button.dataset.window;
    toggles.forEach(b => b.setAttribute('aria-pressed', String(b === button)));
    load();
  }));

  load();
  setInterval(() => {
    if (!document.hidden && Date.now() - chart.loadedAt >= REFRESH_MS[chart.window] - 500) load();
  }, 5000);
})();
