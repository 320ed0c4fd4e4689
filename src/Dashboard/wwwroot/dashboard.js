// The live page of ActorScheduler's console: one page of tasks at a time, refreshed every 2 s and on every event of
// the event stream (api/events); rows are updated in place, never rebuilt wholesale. A task's run history
// (history.js) and the runs chart (chart.js) use the helpers it shares as window.ActorSchedulerPage.
'use strict';
(() => {
  const PAGE = 50;
  const REFRESH_MS = 2000;
  const $ = id => document.getElementById(id);
  const state = { search: '', offset: 0, data: null, rows: new Map(), detail: null, pauseTask: null, loading: false, again: false, soon: null };

  // ---- requests ----
  async function api(path, options = {}) {
    const headers = { Accept: 'application/json' };
    if (options.body) headers['Content-Type'] = 'application/json';
    const response = await fetch(path, { credentials: 'same-origin', ...options, headers });
    let body = null;
    try { body = await response.json(); } catch { /* not JSON */ }
    if (!response.ok) throw Object.assign(new Error((body && body.error) || `HTTP ${response.status}`), { status: response.status });
    return body;
  }

  const taskPath = name => 'api/tasks/' + encodeURIComponent(name);

  async function refresh() {
    if (state.loading) { state.again = true; return; }
    state.loading = true;
    try {
      const query = new URLSearchParams({ search: state.search, offset: String(state.offset), limit: String(PAGE) });
      const data = await api('api/tasks?' + query);
      if (data.tasks.length === 0 && state.offset > 0 && data.matched > 0) {
        state.offset = Math.max(0, Math.floor((data.matched - 1) / PAGE) * PAGE);
        state.again = true;
      } else {
        state.data = data;
        render(data);
      }
      showError(null);
    } catch (e) {
      showError(e.message);
    } finally {
      state.loading = false;
      if (state.again) { state.again = false; soon(0); }
    }
  }

  /** Refreshes soon, at most once per 250 ms however many events arrive. */
  function soon(delay = 250) {
    if (state.soon !== null) return;
    state.soon = setTimeout(() => { state.soon = null; refresh(); if (state.detail) loadDetail(); }, delay);
  }

  // ---- formatting ----
  function duration(ms) {
    if (ms === null || ms === undefined) return '–';
    if (ms < 1000) return `${ms} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
    return span(ms);
  }
  function span(ms) {
    const s = Math.round(ms / 1000);
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
    const h = Math.floor(m / 60);
    if (h < 24) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
    return `${Math.floor(h / 24)} d ${h % 24} h`;
  }
  function countdown(iso) {
    if (!iso) return '–';
    const ms = Date.parse(iso) - Date.now();
    return ms <= 500 ? 'due now' : 'in ' + span(ms);
  }
  function ago(iso) {
    if (!iso) return '';
    const ms = Date.now() - Date.parse(iso);
    return ms < 1500 ? 'just now' : span(ms) + ' ago';
  }
  const localTime = iso => iso ? new Date(iso).toLocaleString() : '–';
  const clockTime = iso => new Date(iso).toLocaleTimeString();

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function setText(node, text) { if (node.textContent !== text) node.textContent = text; }
  function stateOf(t) { return t.paused ? 'paused' : t.running ? 'running' : !t.enabled ? 'disabled' : 'idle'; }

  // ---- the table ----
  function render(data) {
    setText($('set-name'), data.set);
    document.body.classList.toggle('read-only', data.readOnly);
    document.body.classList.toggle('cluster', data.cluster);
    $('readonly-badge').hidden = !data.readOnly;
    setText($('sum-tasks'), data.total.toLocaleString());
    setText($('sum-running'), data.summary.running.toLocaleString());
    setText($('sum-paused'), data.summary.paused.toLocaleString());
    setText($('sum-failing'), data.summary.failing.toLocaleString());
    setText($('sum-tick'), data.tick.toLocaleString());
    const from = data.matched === 0 ? 0 : data.offset + 1;
    const to = data.offset + data.tasks.length;
    setText($('page-info'), `${from.toLocaleString()}–${to.toLocaleString()} of ${data.matched.toLocaleString()}` +
      (data.matched !== data.total ? ` (of ${data.total.toLocaleString()})` : ''));
    $('prev').disabled = data.offset === 0;
    $('next').disabled = to >= data.matched;

    const body = $('rows');
    const seen = new Set();
    let previous = null;
    for (const t of data.tasks) {
      let row = state.rows.get(t.name);
      if (!row) { row = createRow(t.name); state.rows.set(t.name, row); }
      updateRow(row, t);
      seen.add(t.name);
      const wanted = previous ? previous.nextSibling : body.firstChild;
      if (wanted !== row) body.insertBefore(row, wanted);
      previous = row;
    }
    for (const [name, row] of state.rows) {
      if (!seen.has(name)) { row.remove(); state.rows.delete(name); }
    }
    $('empty').hidden = data.tasks.length > 0;
  }

  function createRow(name) {
    const row = el('tr');
    row.dataset.task = name;
    const cells = {};
    for (const key of ['name', 'state', 'due', 'last', 'recent', 'runs', 'succeeded', 'failed', 'timedOut', 'overruns', 'missed', 'node', 'actions']) {
      const td = el('td', key === 'actions' ? 'actions-cell' : key);
      if (['runs', 'succeeded', 'failed', 'timedOut', 'overruns', 'missed'].includes(key)) td.classList.add('num');
      if (key === 'node') td.classList.add('node-col');
      cells[key] = td;
      row.appendChild(td);
    }
    cells.nameText = el('span', 'task-name', name);
    cells.schedule = el('span', 'schedule');
    cells.name.append(cells.nameText, cells.schedule);
    cells.strip = el('div', 'strip');
    cells.recent.appendChild(cells.strip);
    const actions = el('div', 'actions');
    for (const action of ['pause', 'resume', 'trigger']) {
      const button = el('button', 'small', action[0].toUpperCase() + action.slice(1));
      button.type = 'button';
      button.dataset.action = action;
      button.dataset.task = name;
      actions.appendChild(button);
      cells[action] = button;
    }
    cells.actions.appendChild(actions);
    row.cells$ = cells;
    return row;
  }

  function updateRow(row, t) {
    const c = row.cells$;
    row.task$ = t;
    const s = stateOf(t);
    row.dataset.state = s;
    row.classList.toggle('selected', state.detail === t.name);
    setText(c.schedule, t.schedule);
    const stateKey = JSON.stringify([s, t.pauseNote, t.pausedUntil]);
    if (c.state.dataset.key !== stateKey) {
      c.state.dataset.key = stateKey;
      c.state.replaceChildren(el('span', 'badge ' + s, s));
      if (t.paused && (t.pauseNote || t.pausedUntil)) {
        const note = [t.pauseNote, t.pausedUntil ? 'until ' + localTime(t.pausedUntil) : null].filter(Boolean).join(' · ');
        const line = el('span', 'pause-note', note);
        line.title = note;
        c.state.appendChild(line);
      }
    }
    c.due.dataset.at = t.nextDueAt || '';
    setText(c.due, t.paused ? 'paused' : countdown(t.nextDueAt));
    const last = t.lastRun;
    const lastKey = last ? JSON.stringify([last.outcome, last.startedAt, last.durationMs]) : '';
    if (c.last.dataset.key !== lastKey) {
      c.last.dataset.key = lastKey;
      c.last.replaceChildren();
      if (last) {
        if (last.outcome) c.last.appendChild(el('span', 'badge ' + last.outcome, last.outcome));
        c.last.appendChild(el('span', 'sub', ''));
        if (last.error) c.last.title = last.error; else c.last.removeAttribute('title');
      } else {
        c.last.appendChild(el('span', 'sub', 'never'));
      }
    }
    c.last.dataset.at = last ? last.startedAt : '';
    c.last.dataset.duration = last && last.durationMs !== null ? last.durationMs : '';
    updateLast(c.last);
    const recentKey = t.recent.join(',');
    if (c.strip.dataset.key !== recentKey) {
      c.strip.dataset.key = recentKey;
      const marks = [];
      for (let i = 19; i >= 0; i--) marks.push(el('span', t.recent[i] || ''));
      c.strip.replaceChildren(...marks);
      c.strip.title = t.recent.length ? `last ${t.recent.length} attempts, newest on the right` : 'no run seen yet';
    }
    for (const key of ['runs', 'succeeded', 'failed', 'timedOut', 'overruns', 'missed']) {
      setText(c[key], t[key].toLocaleString());
      c[key].classList.toggle('nonzero', t[key] > 0);
    }
    setText(c.node, t.node || '–');
    c.pause.hidden = t.paused;
    c.resume.hidden = !t.paused;
  }

  function updateLast(cell) {
    const sub = cell.querySelector('.sub');
    if (!sub || !cell.dataset.at) return;
    const d = cell.dataset.duration;
    setText(sub, ' ' + ago(cell.dataset.at) + (d !== '' ? ' · ' + duration(Number(d)) : ''));
  }

  /** Every second: the countdowns and "ago" of the rows shown (at most one page). */
  function tick() {
    for (const row of state.rows.values()) {
      const c = row.cells$;
      if (row.dataset.state !== 'paused') setText(c.due, countdown(c.due.dataset.at));
      updateLast(c.last);
    }
  }

  // ---- the detail ----
  async function openDetail(name) {
    state.detail = name;
    for (const row of state.rows.values()) row.classList.toggle('selected', row.dataset.task === name);
    $('detail').hidden = false;
    $('detail').dataset.task = name;
    setText($('detail-name'), name);
    document.dispatchEvent(new CustomEvent('detail', { detail: { task: name, reset: true } }));
    await loadDetail();
  }

  function closeDetail() {
    state.detail = null;
    document.dispatchEvent(new CustomEvent('detail', { detail: { task: null, reset: true } }));
    $('detail').hidden = true;
    for (const row of state.rows.values()) row.classList.remove('selected');
  }

  async function loadDetail() {
    const name = state.detail;
    if (!name) return;
    document.dispatchEvent(new CustomEvent('detail', { detail: { task: name, reset: false } }));
    let t;
    try {
      t = await api(taskPath(name));
    } catch (e) {
      // A task removed meanwhile closes its detail; any other failure (the set busy, a request cut) keeps it open.
      toast(e.message, true);
      if (e.status === 404 && state.detail === name) closeDetail();
      return;
    }
    if (state.detail !== name) return;
    setText($('detail-schedule'), t.schedule);
    const actions = $('detail-actions');
    actions.replaceChildren();
    for (const action of t.paused ? ['resume', 'trigger'] : ['pause', 'trigger']) {
      const button = el('button', action === 'trigger' ? 'primary' : '', action[0].toUpperCase() + action.slice(1));
      button.type = 'button';
      button.dataset.action = action;
      button.dataset.task = name;
      actions.appendChild(button);
    }
    const facts = [
      ['State', stateOf(t) + (t.pauseNote ? ` (${t.pauseNote})` : '')],
      ['Paused until', t.pausedUntil ? localTime(t.pausedUntil) : null],
      ['Next due', t.paused ? 'paused' : t.nextDueAt ? `${localTime(t.nextDueAt)} (${countdown(t.nextDueAt)})` : '–'],
      ['Runs', `${t.runs} · ${t.succeeded} ok · ${t.failed} failed · ${t.timedOut} timed out · ${t.cancelled} cancelled`],
      ['Retries', String(t.retries)],
      ['Overruns / missed', `${t.overruns} / ${t.missed}`],
      ['Skipped while paused', String(t.skippedWhilePaused)],
      ['Duration', t.meanDurationMs === null ? '–' : `mean ${duration(t.meanDurationMs)}, max ${duration(t.maxDurationMs)}`],
      ['Node', t.node],
    ].filter(f => f[1] !== null && f[1] !== undefined);
    $('detail-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', '', k), el('dd', '', v)]));
    const rows = [];
    for (const r of t.recentRuns) {
      const tr = el('tr', r.error ? 'has-error' : '');
      tr.append(el('td', 'num', String(r.tick)), el('td', 'num', String(r.attempt)), el('td', '', localTime(r.startedAt)),
        el('td', 'num', duration(r.durationMs)));
      const outcome = el('td');
      outcome.appendChild(el('span', 'badge ' + r.outcome, r.outcome));
      tr.appendChild(outcome);
      rows.push(tr);
      if (r.error) {
        const error = el('tr', 'error');
        const cell = el('td', '', r.error);
        cell.colSpan = 5;
        error.appendChild(cell);
        rows.push(error);
      }
    }
    $('detail-runs').replaceChildren(...rows);
    $('detail-none').hidden = t.recentRuns.length > 0;
  }

  // ---- actions ----
  async function act(action, name, body) {
    try {
      await api(taskPath(name) + '/' + action, { method: 'POST', body: body ? JSON.stringify(body) : undefined });
      toast(`${name}: ${action === 'pause' ? 'paused' : action === 'resume' ? 'resumed' : 'triggered'}`);
    } catch (e) {
      toast(e.message, true);
    }
    refresh();
    if (state.detail) loadDetail();
  }

  function askPause(name) {
    state.pauseTask = name;
    setText($('pause-task'), name);
    $('pause-note').value = '';
    $('pause-until').value = '';
    $('pause-dialog').showModal();
    $('pause-note').focus();
  }

  function confirmPause() {
    const name = state.pauseTask;
    const note = $('pause-note').value.trim();
    const until = $('pause-until').value;
    const body = {};
    if (note) body.note = note;
    if (until) body.until = new Date(until).toISOString();
    $('pause-dialog').close();
    act('pause', name, body);
  }

  let toastTimer = null;
  function toast(text, error = false) {
    const t = $('toast');
    t.textContent = text;
    t.classList.toggle('error', error);
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, error ? 6000 : 2500);
  }

  function showError(text) {
    const banner = $('error');
    banner.hidden = !text;
    if (text) setText(banner, text);
  }

  // ---- the event stream ----
  function connect() {
    const live = $('live');
    const source = new EventSource('api/events');
    source.onopen = () => { live.dataset.state = 'live'; setText($('live-text'), 'live'); };
    source.onerror = () => { live.dataset.state = 'reconnecting'; setText($('live-text'), 'reconnecting'); };
    source.onmessage = message => {
      let e;
      try { e = JSON.parse(message.data); } catch { return; }
      logEvent(e);
      soon(e.attempt !== undefined || e.event === 'overrun' || e.event === 'missed' ? 250 : 50); // control events sooner
    };
  }

  function logEvent(e) {
    const list = $('activity');
    const item = el('li');
    const detail = [e.attempt > 1 ? `attempt ${e.attempt}` : null, e.durationMs !== undefined ? duration(e.durationMs) : null,
      e.note || null, e.until ? 'until ' + localTime(e.until) : null, e.error || null].filter(Boolean).join(' · ');
    item.append(`${clockTime(e.time)}  `, el('b', '', e.task || ''), `  ${e.event}${detail ? '  ' + detail : ''}`);
    item.dataset.event = e.event;
    list.prepend(item);
    while (list.childElementCount > 12) list.lastElementChild.remove();
  }

  window.ActorSchedulerPage = { api, el, setText, duration, localTime, taskPath };

  // ---- wiring ----
  document.addEventListener('click', event => {
    const button = event.target.closest('button[data-action]');
    if (button) {
      event.stopPropagation();
      const { action, task } = button.dataset;
      if (action === 'pause') askPause(task); else act(action, task);
      return;
    }
    const row = event.target.closest('tr[data-task]');
    if (row) openDetail(row.dataset.task);
  });
  $('detail-close').addEventListener('click', closeDetail);
  document.addEventListener('keydown', e => { if (e.key === 'Escape' && !$('pause-dialog').open) closeDetail(); });
  $('pause-cancel').addEventListener('click', () => $('pause-dialog').close());
  $('pause-form').addEventListener('submit', e => { e.preventDefault(); confirmPause(); });
  let searchTimer = null;
  $('search').addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { state.search = $('search').value.trim(); state.offset = 0; refresh(); }, 200);
  });
  $('prev').addEventListener('click', () => { state.offset = Math.max(0, state.offset - PAGE); refresh(); });
  $('next').addEventListener('click', () => { state.offset += PAGE; refresh(); });

  const initial = new URLSearchParams(location.search).get('search');
  if (initial) { $('search').value = initial; state.search = initial; }
  refresh();
  connect();
  setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
  setInterval(tick, 1000);
})();
