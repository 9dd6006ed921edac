/**
 * Token usage read from the vendors' own responses, normalised to four disjoint counts so one
 * price table fits all three (docs/gateway.md, "Metering"):
 *
 * - `inputTokens`: input billed at the base input rate (cache reads and writes excluded);
 * - `outputTokens`: everything billed at the output rate (reasoning/thinking tokens included);
 * - `cacheReadTokens`: input served from the vendor's prompt cache;
 * - `cacheWriteTokens`: input written to the prompt cache (Anthropic only; `cacheWrite1hTokens`
 *   is the part written with the one-hour lifetime, priced apart).
 *
 * Anthropic reports these apart already. OpenAI's `input_tokens` and Gemini's
 * `promptTokenCount` include the cached tokens, which are subtracted here.
 */
import type { TokenUsage, VendorName } from '../model/usage.js';

export const noUsage: TokenUsage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0 };

type Json = Record<string, unknown>;
const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined);
const object = (value: unknown): Json | undefined => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined);

/**
 * Follows one response's usage as its events (SSE `data:` payloads, parsed) or its whole JSON
 * body arrive; `usage` is what is known so far, `seen` whether the vendor reported any.
 */
export class UsageMeter {
  private current: TokenUsage = { ...noUsage };
  seen = false;

  constructor(private readonly vendor: VendorName) {}

  get usage(): TokenUsage {
    return { ...this.current };
  }

  /** One streamed event's payload, or a whole (non-streamed) response body. */
  observe(payload: unknown): void {
    const body = object(payload);
    if (!body) return;
    if (this.vendor === 'anthropic') this.anthropic(body);
    else if (this.vendor === 'openai') this.openai(body);
    else this.gemini(body);
  }

  /**
   * `message_start` carries `message.usage` (input and cache counts, an early output count);
   * `message_delta` carries `usage` with the final output count (and, in newer API versions,
   * the input counts again). A whole response body carries `usage`. Later values replace earlier ones.
   */
  private anthropic(body: Json): void {
    const usage = object(body.type === 'message_start' ? object(body.message)?.usage : body.usage);
    if (!usage) return;
    this.seen = true;
    const creation = object(usage.cache_creation);
    const next = { ...this.current };
    next.inputTokens = count(usage.input_tokens) ?? next.inputTokens;
    next.outputTokens = count(usage.output_tokens) ?? next.outputTokens;
    next.cacheReadTokens = count(usage.cache_read_input_tokens) ?? next.cacheReadTokens;
    next.cacheWriteTokens = count(usage.cache_creation_input_tokens) ?? next.cacheWriteTokens;
    next.cacheWrite1hTokens = Math.min(count(creation?.ephemeral_1h_input_tokens) ?? next.cacheWrite1hTokens, next.cacheWriteTokens);
    this.current = next;
  }

  /**
   * Responses API: `response.completed` (also `.incomplete`, `.failed`) carries `response.usage`;
   * a whole body is the response itself. `input_tokens` includes `input_tokens_details.cached_tokens`.
   * Chat Completions' `usage` (`prompt_tokens`, `completion_tokens`) is read the same way.
   */
  private openai(body: Json): void {
    const usage = object(object(body.response)?.usage) ?? object(body.usage);
    if (!usage) return;
    const input = count(usage.input_tokens) ?? count(usage.prompt_tokens);
    const output = count(usage.output_tokens) ?? count(usage.completion_tokens);
    if (input === undefined && output === undefined) return;
    this.seen = true;
    const cached = count(object(usage.input_tokens_details)?.cached_tokens) ?? count(object(usage.prompt_tokens_details)?.cached_tokens) ?? 0;
    this.current = {
      inputTokens: Math.max(0, (input ?? 0) - cached),
      outputTokens: output ?? 0,
      cacheReadTokens: Math.min(cached, input ?? cached),
      cacheWriteTokens: 0,
      cacheWrite1hTokens: 0,
    };
  }

  /**
   * Every streamed chunk may carry `usageMetadata`, cumulative for the response so far; the last
   * one counts. `promptTokenCount` includes `cachedContentTokenCount`; `toolUsePromptTokenCount`
   * is input too; `thoughtsTokenCount` is billed as output.
   */
  private gemini(body: Json): void {
    const usage = object(body.usageMetadata);
    if (!usage) return;
    this.seen = true;
    const prompt = count(usage.promptTokenCount) ?? 0;
    const cached = Math.min(count(usage.cachedContentTokenCount) ?? 0, prompt);
    this.current = {
      inputTokens: prompt - cached + (count(usage.toolUsePromptTokenCount) ?? 0),
      outputTokens: (count(usage.candidatesTokenCount) ?? 0) + (count(usage.thoughtsTokenCount) ?? 0),
      cacheReadTokens: cached,
      cacheWriteTokens: 0,
      cacheWrite1hTokens: 0,
    };
  }
}

/**
 * Splits a Server-Sent Events byte stream into its events' `data` payloads, across chunk
 * boundaries, as the SSE spec does: events end at a blank line (LF, CRLF or CR line ends),
 * several `data:` lines join with a newline.
 */
export class SseReader {
  private pending = '';
  private readonly decoder = new TextDecoder();

  constructor(private readonly onData: (data: string) => void) {}

  push(chunk: Buffer): void {
    this.pending += this.decoder.decode(chunk, { stream: true });
    let end: RegExpExecArray | null;
    while ((end = /\r\n\r\n|\n\n|\r\r/.exec(this.pending))) {
      const block = this.pending.slice(0, end.index);
      this.pending = this.pending.slice(end.index + end[0].length);
      this.emit(block);
    }
  }

  /** The stream ended: an unterminated last event still counts. */
  end(): void {
    this.pending += this.decoder.decode();
    if (this.pending.trim() !== '') this.emit(this.pending);
    this.pending = '';
  }

  private emit(block: string): void {
    const data = block
      .split(/\r\n|\n|\r/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).replace(/^ /, ''));
    if (data.length > 0) this.onData(data.join('\n'));
  }
}

/** Feeds a response's bytes to a meter: SSE events one by one, or a JSON body whole at the end. */
export function usageTap(meter: UsageMeter, contentType: string): { push(chunk: Buffer): void; end(): void } {
  const parse = (text: string) => {
    try {
      const value: unknown = JSON.parse(text);
      // Gemini's streamGenerateContent without alt=sse answers one JSON array of chunks.
      for (const item of Array.isArray(value) ? value : [value]) meter.observe(item);
    } catch {
      // Not JSON (a `[DONE]` marker, an HTML error page): nothing to meter in it.
    }
  };
  if (contentType.includes('text/event-stream')) {
    const reader = new SseReader(parse);
    return { push: (chunk) => reader.push(chunk), end: () => reader.end() };
  }
  // A whole JSON body: kept (bounded) until it ends. Streams are never held, only this copy.
  const chunks: Buffer[] = [];
  let size = 0;
  const limit = 16 * 1024 * 1024;
  return {
    push: (chunk) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    },
    end: () => {
      if (size > 0 && size <= limit && contentType.includes('json')) parse(Buffer.concat(chunks).toString('utf8'));
    },
  };
}
