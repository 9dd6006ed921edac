/** OpenAI Responses API, as the Codex CLI calls it: spec in openai.md. */
import { declaresTool, type ParsedRequest, type Reply, type Script, type Usage, type VendorHandler } from './mock-vendor.js';

/** Fixed usage per answer, in the API's own fields: input_tokens include the cached ones. */
export const openaiUsage = {
  toolCall: {
    input_tokens: 1500,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: 60,
    output_tokens_details: { reasoning_tokens: 20 },
    total_tokens: 1560,
  },
  final: {
    input_tokens: 1800,
    input_tokens_details: { cached_tokens: 1400 },
    output_tokens: 30,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 1830,
  },
  text: { input_tokens: 200, input_tokens_details: { cached_tokens: 0 }, output_tokens: 10, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 210 },
};

const callId = 'call_graftmock01';

type ResponsesBody = { model?: string; stream?: boolean; tools?: unknown; input?: unknown };

export function openaiVendor(script: Script): VendorHandler {
  return {
    handle(request: ParsedRequest, reply: Reply) {
      const { method, path } = request;
      if (method === 'GET' && path === '/v1/models') return reply.json(200, { object: 'list', data: [] }, 'other');
      if (method !== 'POST' || path !== '/v1/responses')
        return reply.json(404, { error: { type: 'invalid_request_error', code: 'not_found', message: `${method} ${path} is not part of the mock` } }, 'error');
      const body = (request.body ?? {}) as ResponsesBody;
      const answered = JSON.stringify(body.input ?? []).includes(`"call_id":"${callId}"`) && JSON.stringify(body.input).includes('"function_call_output"');
      const tool = declaresTool(body.tools, 'exec_command') ? 'exec_command' : declaresTool(body.tools, 'shell') ? 'shell' : undefined;
      const kind = answered ? 'final' : tool ? 'tool-call' : 'text';
      const usage = openaiUsage[kind === 'tool-call' ? 'toolCall' : kind];
      const item =
        kind === 'tool-call'
          ? {
              type: 'function_call',
              id: 'fc_graftmock01',
              call_id: callId,
              name: tool,
              arguments: JSON.stringify(tool === 'shell' ? { command: ['sh', '-c', script.command] } : { cmd: script.command }),
              status: 'completed',
            }
          : {
              type: 'message',
              id: `msg_graftmock_${kind}`,
              role: 'assistant',
              status: 'completed',
              content: [{ type: 'output_text', text: kind === 'final' ? script.finalText : 'Mock answer.', annotations: [] }],
            };
      const response = { id: `resp_graftmock_${kind}`, object: 'response', created_at: Math.floor(Date.now() / 1000), model: body.model ?? 'unknown' };
      if (!body.stream) return reply.json(200, { ...response, status: 'completed', output: [item], usage }, kind, normalise(usage));
      const text = item.type === 'message' ? (item.content as { text: string }[])[0]!.text : undefined;
      reply.sse(
        [
          { event: 'response.created', data: { type: 'response.created', sequence_number: 0, response: { ...response, status: 'in_progress', output: [] } } },
          {
            event: 'response.in_progress',
            data: { type: 'response.in_progress', sequence_number: 1, response: { ...response, status: 'in_progress', output: [] } },
          },
          {
            event: 'response.output_item.added',
            data: { type: 'response.output_item.added', sequence_number: 2, output_index: 0, item: { ...item, status: 'in_progress' } },
          },
          ...(text !== undefined
            ? [
                {
                  event: 'response.output_text.delta',
                  data: { type: 'response.output_text.delta', sequence_number: 3, item_id: item.id, output_index: 0, content_index: 0, delta: text },
                },
              ]
            : []),
          { event: 'response.output_item.done', data: { type: 'response.output_item.done', sequence_number: 4, output_index: 0, item } },
          {
            event: 'response.completed',
            data: { type: 'response.completed', sequence_number: 5, response: { ...response, status: 'completed', output: [item], usage } },
          },
        ],
        kind,
        normalise(usage),
      );
    },
  };
}

/** OpenAI counts cached tokens inside input_tokens; apart here. It reports no cache writes. */
function normalise(usage: (typeof openaiUsage)['final']): Usage {
  const cached = usage.input_tokens_details.cached_tokens;
  return { inputTokens: usage.input_tokens - cached, outputTokens: usage.output_tokens, cacheReadTokens: cached, cacheWriteTokens: 0 };
}
