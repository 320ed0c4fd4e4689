// A task's run history in its detail (api/tasks/NAME/runs): one page of runs at a time, newest first, with Older and
// Newer. The newest page follows new runs as the detail reloads; an older page stays as it is (its before is fixed).
'use strict';
(() => {
  const PAGE = 20;
  const { api, el, setText, duration, localTime, taskPath } = window.ActorSchedulerPage;
  const $ = id => document.getElementById(id);
  // before: the page shown (null: the newest); newer: the befores of the pages before it; next: the before of the older one.
  const history = { task: null, before: null, newer: [], next: null };

  document.addEventListener('detail', e => {
    const { task, reset } = e.detail;
    if (reset) {
      Object.assign(history, { task, before: null, newer: [], next: null });
      show(null, '');
      return;
    }
    if (task === history.task) load();
  });

  async function load() {
    const { task, before } = history;
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (before) query.set('before', before);
    let page = null;
    let error = '';
    try { page = await api(taskPath(task) + '/runs?' + query); } catch (e) { error = e.message; }
    if (task !== history.task || before !== history.before) return; // another task or another page meanwhile
    show(page, error);
  }

  function show(page, error) {
    history.next = page ? page.next : null;
    $('history-older').disabled = !history.next;
    $('history-newer').disabled = history.newer.length === 0;
    setText($('history-info'), page && (history.newer.length > 0 || history.next) ? `page ${history.newer.length + 1}` : '');
    const body = $('detail-history');
    const runs = page ? page.runs : [];
    const key = JSON.stringify(runs);
    if (body.dataset.key !== key) {
      body.dataset.key = key;
      const withNode = runs.some(r => r.node);
      $('history').classList.toggle('with-node', withNode);
      body.replaceChildren(...runs.flatMap(r => rows(r, withNode ? 6 : 5)));
    }
    const none = $('history-none');
    none.hidden = runs.length > 0 || page === null && !error;
    setText(none, error ? 'The run history is not available: ' + error
      : history.before ? 'No older run in the history.' : 'No run in the history yet.');
  }

  function rows(r, columns) {
    const tr = el('tr', 'run' + (r.error ? ' has-error' : ''));
    tr.dataset.started = r.startedAt;
    tr.dataset.outcome = r.outcome;
    tr.title = `scheduled ${localTime(r.scheduledAt)} · ended ${localTime(r.endedAt)}`;
    const outcome = el('td');
    outcome.appendChild(el('span', 'badge ' + r.outcome, r.outcome));
    tr.append(el('td', 'num', String(r.tick)), el('td', '', localTime(r.startedAt)), el('td', 'num', duration(r.durationMs)),
      outcome, el('td', 'num', String(r.attempt)), el('td', 'node', r.node || '–'));
    if (!r.error) return [tr];
    const error = el('tr', 'error');
    const cell = el('td', '', r.error);
    cell.colSpan = columns;
    error.appendChild(cell);
    return [tr, error];
  }

  $('history-older').addEventListener('click', () => {
    if (!history.next) return;
    history.newer.push(history.before);
    history.before = history.next;
    load();
  });
  $('history-newer').addEventListener('click', () => {
    if (history.newer.length === 0) return;
    history.before = history.newer.pop();
    load();
  });
})();
