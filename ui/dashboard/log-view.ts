/**
 * A task's live log. Agent CLIs that print JSON lines (Claude Code's stream-json, Gemini CLI's
 * stream-json, Codex's --json) are shown as messages and tool calls; anything else, the shell
 * harness's output included, as the text it is.
 */
import { el } from './dom.js';

type Json = Record<string, unknown>;

export class LogView {
  private source?: EventSource;
  private pending = '';

  constructor(
    private readonly box: HTMLElement,
    private readonly out: HTMLElement,
    private readonly label: HTMLElement,
  ) {}

  show(task: string): void {
    this.source?.close();
    this.box.hidden = false;
    this.out.replaceChildren();
    this.pending = '';
    this.label.textContent = '';
    const source = new EventSource(`/api/tasks/${encodeURIComponent(task)}/log`);
    this.source = source;
    source.addEventListener('source', (e) => {
      const { source: where, attempt } = JSON.parse((e as MessageEvent).data) as { source: string; attempt: number };
      this.label.textContent = where === 'none' ? '(no output yet)' : `(attempt ${attempt}, ${where === 'host' ? 'live from its host' : 'saved'})`;
    });
    source.addEventListener('text', (e) => this.append((JSON.parse((e as MessageEvent).data) as { text: string }).text));
    source.addEventListener('failed', (e) =>
      this.out.append(el('div', { class: 'tool' }, `[log unavailable: ${(JSON.parse((e as MessageEvent).data) as { error: string }).error}]`)),
    );
    // The stream ends with the attempt; the page reopens it when the task changes.
    source.addEventListener('end', () => {
      if (this.pending) this.line(this.pending);
      this.pending = '';
      source.close();
    });
  }

  private append(text: string): void {
    const stick = this.out.scrollTop + this.out.clientHeight >= this.out.scrollHeight - 4;
    const lines = (this.pending + text).split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) this.line(line);
    if (stick) this.out.scrollTop = this.out.scrollHeight;
  }

  private line(line: string): void {
    const parsed = line.startsWith('{') ? tryJson(line) : undefined;
    const nodes = parsed ? render(parsed) : undefined;
    if (nodes && nodes.length > 0) this.out.append(...nodes);
    else if (!parsed) this.out.append(line + '\n');
  }
}

function tryJson(line: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
const message = (body: string) => el('div', { class: 'msg' }, body);
const tool = (name: unknown, input: unknown) => el('div', { class: 'tool' }, `⚙ ${text(name)} ${input === undefined ? '' : text(input).slice(0, 500)}`);
const result = (body: unknown) => el('div', { class: 'tool-result' }, text(body).slice(0, 1000));

/** One JSON event as elements; undefined when the shape is not known (shown raw). */
function render(event: Json): HTMLElement[] | undefined {
  const type = event.type;
  // Claude Code: {type: assistant|user, message: {content: [{type: text|tool_use|tool_result}]}}, {type: result, result}
  const content = (event.message as Json | undefined)?.content;
  if ((type === 'assistant' || type === 'user') && Array.isArray(content)) {
    return (content as Json[]).map((part) =>
      part.type === 'text'
        ? message(text(part.text))
        : part.type === 'tool_use'
          ? tool(part.name, part.input)
          : part.type === 'tool_result'
            ? result(part.content)
            : result(part),
    );
  }
  if (type === 'result' && 'result' in event) return [message(text(event.result))];
  if (type === 'system') return [];
  // Gemini CLI: {type: message, role, content}, {type: tool_use, tool_name, parameters}, {type: tool_result, output}
  if (type === 'message' && typeof event.content === 'string') return event.role === 'user' ? [] : [message(event.content)];
  if (type === 'tool_use') return [tool(event.tool_name ?? event.name, event.parameters ?? event.input)];
  if (type === 'tool_result') return [result(event.output ?? event.content ?? '')];
  // Codex: {type: item.completed, item: {type: agent_message|command_execution|..., text|command|aggregated_output}}
  const item = event.item as Json | undefined;
  if (typeof type === 'string' && type.startsWith('item.') && item) {
    if (type !== 'item.completed') return [];
    if (item.type === 'agent_message' || item.type === 'reasoning') return [message(text(item.text))];
    if (item.type === 'command_execution') return [tool('shell', item.command), result(item.aggregated_output ?? '')];
    return [tool(item.type, item)];
  }
  if (typeof type === 'string' && (type.startsWith('turn.') || type.startsWith('thread.') || type === 'init')) return [];
  return undefined;
}
