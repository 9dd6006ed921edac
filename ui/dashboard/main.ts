/**
 * The dashboard page: one server-sent event stream carries a snapshot of the run, then every
 * change. No framework: the graph is SVG updated in place, the side panels are rebuilt from text
 * when what they show changes.
 */
import type { DashboardSnapshot, RunView, SessionCost, TaskView } from '../../src/core/dashboard/dashboard-view.js';
import type { HumanInboxEntry } from '../../src/core/state/message-store.js';
import { el, post } from './dom.js';
import { GraphView } from './graph-view.js';
import { LogView } from './log-view.js';

const $ = (id: string) => document.getElementById(id)!;
const tasks = new Map<string, TaskView>();
let snapshot: DashboardSnapshot | undefined;
let selected: string | undefined;
const graph = new GraphView($('canvas') as unknown as SVGSVGElement, (name) => select(name));
const log = new LogView($('log-box'), $('log'), $('log-source'));

function select(name: string): void {
  selected = name;
  location.hash = `task=${encodeURIComponent(name)}`;
  graph.select(name);
  renderTask();
  log.show(name);
}

function renderTask(): void {
  const task = selected ? tasks.get(selected) : undefined;
  const box = $('task');
  if (!task) return;
  const rows: [string, string | undefined][] = [
    ['state', task.state],
    ['host', task.host],
    ['agent', task.agent ? `${task.agent} (${task.agentTemplate}, ${task.harness})` : `${task.agentTemplate} (${task.harness})`],
    ['attempt', task.attempt ? String(task.attempt) : undefined],
    ['duration', duration(task)],
    ['branch', task.branch],
    ['needs', task.needs.join(', ') || undefined],
    [
      'tokens',
      task.usage
        ? `${task.usage.inputTokens.toLocaleString('en')} in / ${task.usage.outputTokens.toLocaleString('en')} out (${task.usage.requests} request${task.usage.requests === 1 ? '' : 's'})`
        : undefined,
    ],
    ['cost', task.usage ? (task.usage.costUsd === null ? 'unknown (no price for its model)' : `$${task.usage.costUsd.toFixed(4)}`) : undefined],
    ['status', task.status],
    ['summary', task.summary],
    ['error', task.error],
    ...(task.approvals ?? []).map((a): [string, string] => [`${a.gate} gate`, `${a.decision} by ${a.by} at ${a.at}${a.reason ? `: ${a.reason}` : ''}`]),
  ];
  const list = el('dl', {}, ...rows.filter(([, v]) => v).flatMap(([k, v]) => [el('dt', {}, k), el('dd', { 'data-field': k }, v)]));
  box.replaceChildren(el('h2', {}, task.name), list, ...(task.waiting && snapshot?.writable ? [gate(task)] : []));
}

function gate(task: TaskView): HTMLElement {
  const reason = el('textarea', { placeholder: 'reason (recorded)', 'aria-label': 'reason' });
  const problem = el('div', { class: 'hint' });
  const decide = (decision: 'approve' | 'reject') =>
    post(`/api/tasks/${encodeURIComponent(task.name)}/approval`, { decision, ...(reason.value ? { reason: reason.value } : {}) }).catch(
      (e: Error) => (problem.textContent = e.message),
    );
  const approve = el('button', { type: 'button', 'data-action': 'approve' }, 'Approve');
  const reject = el('button', { type: 'button', 'data-action': 'reject' }, 'Reject');
  approve.addEventListener('click', () => void decide('approve'));
  reject.addEventListener('click', () => void decide('reject'));
  return el(
    'div',
    { class: 'gate' },
    el('strong', {}, task.waiting === 'before' ? 'Waiting for approval to start' : 'Waiting for approval of its result'),
    reason,
    approve,
    reject,
    problem,
  );
}

function renderInbox(entries: HumanInboxEntry[]): void {
  const items = entries.map((e) => {
    const head = el(
      'div',
      {},
      el('strong', {}, e.sender),
      ` ${e.kind === 'question' ? `asks (question ${e.id})` : e.recipient === 'all' ? 'to all' : 'says'} · ${new Date(e.createdAt).toLocaleTimeString()}`,
    );
    const body = el('div', {}, e.body);
    if (e.kind !== 'question') return el('div', { class: 'question' }, head, body);
    if (e.answer)
      return el(
        'div',
        { class: 'question', 'data-question': String(e.id) },
        head,
        body,
        el('div', { class: 'hint' }, `→ ${e.answer.body} (${e.answer.sender})`),
      );
    const text = el('textarea', { 'aria-label': 'answer' });
    const send = el('button', { type: 'button', 'data-action': 'answer' }, 'Answer');
    const problem = el('div', { class: 'hint' });
    send.addEventListener(
      'click',
      () => void post(`/api/questions/${e.id}/answer`, { text: text.value }).catch((err: Error) => (problem.textContent = err.message)),
    );
    return el('div', { class: 'question open', 'data-question': String(e.id) }, head, body, ...(snapshot?.writable ? [text, send, problem] : []));
  });
  $('inbox').replaceChildren(...(items.length ? items : [el('p', { class: 'hint' }, 'No messages.')]));
}

function renderRun(run: RunView): void {
  $('run').textContent = `run ${run.status}${run.controller?.alive ? '' : run.status === 'running' ? ' (no controller)' : ''}`;
}

function renderCost(cost: SessionCost | undefined): void {
  const box = $('cost');
  if (!cost) {
    box.textContent = '';
    return;
  }
  const spent = cost.spentUsd === null ? 'cost unknown (no prices)' : `$${cost.spentUsd.toFixed(2)}`;
  box.textContent = cost.budgetUsd === undefined ? `${spent} spent` : `${spent} of $${cost.budgetUsd.toFixed(2)} budget`;
  box.classList.toggle('over', cost.budgetUsd !== undefined && (cost.spentUsd ?? 0) >= cost.budgetUsd);
}

function duration(task: TaskView): string | undefined {
  if (!task.startedAt) return undefined;
  const end = task.endedAt ? Date.parse(task.endedAt) : Date.now();
  return `${Math.max(0, Math.round((end - Date.parse(task.startedAt)) / 100) / 10)} s`;
}

const events = new EventSource('/api/events');
events.addEventListener('open', () => ($('live').textContent = 'live'));
events.addEventListener('error', () => ($('live').textContent = 'reconnecting…'));
events.addEventListener('snapshot', (e) => {
  snapshot = JSON.parse((e as MessageEvent).data) as DashboardSnapshot;
  tasks.clear();
  for (const t of snapshot.tasks) tasks.set(t.name, t);
  $('session').textContent = `session ${snapshot.session} · ${snapshot.graph}${snapshot.writable ? '' : ' · read-only'}`;
  renderRun(snapshot.run);
  renderCost(snapshot.cost);
  graph.draw(snapshot.layout, snapshot.tasks);
  renderInbox(snapshot.inbox);
  // For bench/dashboard.ts: when the graph was first on screen.
  requestAnimationFrame(() => performance.mark('graft:graph-painted'));
  const wanted = /task=([^&]+)/.exec(location.hash)?.[1];
  if (wanted && tasks.has(decodeURIComponent(wanted))) select(decodeURIComponent(wanted));
  else if (selected) renderTask();
});
events.addEventListener('tasks', (e) => {
  for (const t of JSON.parse((e as MessageEvent).data) as TaskView[]) {
    const before = tasks.get(t.name);
    tasks.set(t.name, t);
    graph.update(t);
    if (t.name === selected) {
      renderTask();
      // A new attempt, or one that ended: its log is somewhere else now.
      if (before && (before.attempt !== t.attempt || before.state !== t.state) && (t.state === 'running' || before.state === 'running')) log.show(t.name);
    }
  }
});
events.addEventListener('run', (e) => renderRun(JSON.parse((e as MessageEvent).data) as RunView));
events.addEventListener('inbox', (e) => renderInbox(JSON.parse((e as MessageEvent).data) as HumanInboxEntry[]));
events.addEventListener('cost', (e) => renderCost(JSON.parse((e as MessageEvent).data) as SessionCost));
