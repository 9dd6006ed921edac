/** Gemini API (generativelanguage v1beta), as the Gemini CLI calls it: spec in gemini.md. */
import { declaresTool, type ParsedRequest, type Reply, type Script, type Usage, type VendorHandler } from './mock-vendor.js';

/** Fixed usageMetadata per answer: promptTokenCount includes the cached tokens; thoughts are billed as output. */
export const geminiUsage = {
  toolCall: { promptTokenCount: 1300, cachedContentTokenCount: 0, candidatesTokenCount: 35, thoughtsTokenCount: 15, totalTokenCount: 1350 },
  final: { promptTokenCount: 1600, cachedContentTokenCount: 1000, candidatesTokenCount: 20, thoughtsTokenCount: 0, totalTokenCount: 1620 },
  text: { promptTokenCount: 200, cachedContentTokenCount: 0, candidatesTokenCount: 10, thoughtsTokenCount: 0, totalTokenCount: 210 },
};

const callId = 'graftmock01';
const shellTool = 'run_shell_command';

type GenerateBody = { contents?: unknown; tools?: unknown };

export function geminiVendor(script: Script): VendorHandler {
  return {
    handle(request: ParsedRequest, reply: Reply) {
      const { method, path } = request;
      const call = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens)$/.exec(path);
      if (method === 'GET' && path === '/v1beta/models') return reply.json(200, { models: [] }, 'other');
      if (method !== 'POST' || !call)
        return reply.json(404, { error: { code: 404, status: 'NOT_FOUND', message: `${method} ${path} is not part of the mock` } }, 'error');
      const [, model, verb] = call as unknown as [string, string, string];
      if (verb === 'countTokens') return reply.json(200, { totalTokens: 1300 }, 'other');
      const body = (request.body ?? {}) as GenerateBody;
      const answered = JSON.stringify(body.contents ?? []).includes('"functionResponse"') && JSON.stringify(body.contents).includes(`"name":"${shellTool}"`);
      const kind = answered ? 'final' : declaresTool(body.tools, shellTool) ? 'tool-call' : 'text';
      const usageMetadata = geminiUsage[kind === 'tool-call' ? 'toolCall' : kind];
      const text = kind === 'final' ? script.finalText : 'Mock answer.';
      const parts =
        kind === 'tool-call'
          ? [{ functionCall: { id: callId, name: shellTool, args: { command: script.command, description: `Write ${script.file.path}` } } }]
          : [{ text }];
      const chunk = (p: unknown[], usage: Record<string, number>, finished: boolean) => ({
        candidates: [{ content: { role: 'model', parts: p }, index: 0, ...(finished ? { finishReason: 'STOP' } : {}) }],
        usageMetadata: usage,
        modelVersion: decodeURIComponent(model),
        responseId: `graftmock_${kind}`,
      });
      if (verb === 'generateContent') return reply.json(200, chunk(parts, usageMetadata, true), kind, normalise(usageMetadata));
      // Streamed text arrives in pieces; each chunk's usageMetadata is the running total, the last one final.
      const events =
        kind === 'tool-call'
          ? [chunk(parts, usageMetadata, true)]
          : [
              chunk([{ text: text.slice(0, 4) }], { promptTokenCount: usageMetadata.promptTokenCount, totalTokenCount: usageMetadata.promptTokenCount }, false),
              chunk([{ text: text.slice(4) }], usageMetadata, true),
            ];
      reply.sse(
        events.map((data) => ({ data })),
        kind,
        normalise(usageMetadata),
      );
    },
  };
}

function normalise(usage: (typeof geminiUsage)['final']): Usage {
  return {
    inputTokens: usage.promptTokenCount - usage.cachedContentTokenCount,
    outputTokens: usage.candidatesTokenCount + usage.thoughtsTokenCount,
    cacheReadTokens: usage.cachedContentTokenCount,
    cacheWriteTokens: 0,
  };
}
