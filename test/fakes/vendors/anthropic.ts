/** Anthropic Messages API, as Claude Code calls it: spec in anthropic.md. */
import { declaresTool, type ParsedRequest, type Reply, type Script, type Usage, type VendorHandler } from './mock-vendor.js';

/** Fixed usage per answer, in the API's own fields (normalised for `Usage` below). */
export const anthropicUsage = {
  toolCall: { input_tokens: 1200, cache_creation_input_tokens: 300, cache_read_input_tokens: 0, output_tokens: 40 },
  final: { input_tokens: 1500, cache_creation_input_tokens: 0, cache_read_input_tokens: 300, output_tokens: 25 },
  text: { input_tokens: 200, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 10 },
};

const toolUseId = 'toolu_graftmock01';

type MessagesBody = { model?: string; stream?: boolean; tools?: unknown; messages?: { role: string; content: unknown }[] };

export function anthropicVendor(script: Script): VendorHandler {
  return {
    handle(request: ParsedRequest, reply: Reply) {
      const { method, path } = request;
      if (method === 'HEAD' && path === '/api/hello') return reply.empty(200);
      if (method === 'POST' && path === '/v1/messages/count_tokens') return reply.json(200, { input_tokens: 1200 }, 'other');
      if (method === 'GET' && path === '/v1/models') return reply.json(200, { data: [], has_more: false, first_id: null, last_id: null }, 'other');
      if (method !== 'POST' || path !== '/v1/messages')
        return reply.json(404, { type: 'error', error: { type: 'not_found_error', message: `${method} ${path} is not part of the mock` } }, 'error');
      const body = (request.body ?? {}) as MessagesBody;
      const model = body.model ?? 'unknown';
      const answered = JSON.stringify(body.messages?.at(-1)?.content ?? '').includes(`"tool_use_id":"${toolUseId}"`);
      const kind = answered ? 'final' : declaresTool(body.tools, 'Bash') ? 'tool-call' : 'text';
      const usage = anthropicUsage[kind === 'tool-call' ? 'toolCall' : kind];
      const content =
        kind === 'tool-call'
          ? { type: 'tool_use', id: toolUseId, name: 'Bash', input: { command: script.command, description: `Write ${script.file.path}` } }
          : { type: 'text', text: kind === 'final' ? script.finalText : 'Mock answer.' };
      const stopReason = kind === 'tool-call' ? 'tool_use' : 'end_turn';
      const message = { id: `msg_graftmock_${kind}`, type: 'message', role: 'assistant', model, stop_sequence: null };
      if (!body.stream) return reply.json(200, { ...message, content: [content], stop_reason: stopReason, usage }, kind, normalise(usage));
      const start = content.type === 'tool_use' ? { ...content, input: {} } : { type: 'text', text: '' };
      const delta =
        content.type === 'tool_use'
          ? { type: 'input_json_delta', partial_json: JSON.stringify(content.input) }
          : { type: 'text_delta', text: (content as { text: string }).text };
      reply.sse(
        [
          {
            event: 'message_start',
            data: { type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } },
          },
          { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: start } },
          { event: 'ping', data: { type: 'ping' } },
          { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta } },
          { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
          {
            event: 'message_delta',
            data: { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } },
          },
          { event: 'message_stop', data: { type: 'message_stop' } },
        ],
        kind,
        normalise(usage),
      );
    },
  };
}

/** Anthropic's input_tokens already exclude cache reads and writes. */
function normalise(usage: (typeof anthropicUsage)['final']): Usage {
  return {
    inputTokens: usage.input_tokens,
    outputTokens: usage.output_tokens,
    cacheReadTokens: usage.cache_read_input_tokens,
    cacheWriteTokens: usage.cache_creation_input_tokens,
  };
}
