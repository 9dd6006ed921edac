import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageMeter, usageTap } from '../../../src/core/gateway/usage.js';
import { type TokenUsage } from '../../../src/core/model/usage.js';
import type { VendorName } from '../../../src/core/model/usage.js';
import { repoRoot } from '../../helpers/cli.js';

const fixture = (name: string) => readFileSync(join(repoRoot, 'test', 'fixtures', 'gateway', name));

/** Feeds a recorded stream through the tap in chunks of `size` bytes, as a socket might deliver it. */
function meter(vendor: VendorName, bytes: Buffer, size: number, contentType = 'text/event-stream'): { usage: TokenUsage; seen: boolean } {
  const m = new UsageMeter(vendor);
  const tap = usageTap(m, contentType);
  for (let i = 0; i < bytes.length; i += size) tap.push(bytes.subarray(i, i + size));
  tap.end();
  return { usage: m.usage, seen: m.seen };
}

describe('gateway usage: the vendors own counts, normalised', () => {
  const cases: [VendorName, string, TokenUsage][] = [
    // input 1200 apart from cache; 500 written (300 of them for an hour), 3000 read; the final output count is message_delta's.
    ['anthropic', 'anthropic-messages.sse', { inputTokens: 1200, outputTokens: 87, cacheReadTokens: 3000, cacheWriteTokens: 500, cacheWrite1hTokens: 300 }],
    // input_tokens 2000 includes the 1500 cached; reasoning tokens are inside output_tokens.
    ['openai', 'openai-responses.sse', { inputTokens: 500, outputTokens: 300, cacheReadTokens: 1500, cacheWriteTokens: 0, cacheWrite1hTokens: 0 }],
    // the last chunk's cumulative counts: prompt 900 of which 400 cached, plus 10 tool-use prompt tokens; 6 candidates + 40 thoughts.
    ['gemini', 'gemini-stream.sse', { inputTokens: 510, outputTokens: 46, cacheReadTokens: 400, cacheWriteTokens: 0, cacheWrite1hTokens: 0 }],
  ];

  for (const [vendor, file, expected] of cases) {
    it(`given ${file}, when it arrives whole, byte by byte or in 7-byte pieces, then the usage is the same exact counts`, () => {
      const bytes = fixture(file);
      for (const size of [bytes.length, 1, 7]) {
        const result = meter(vendor, bytes, size);
        expect(result.seen, `${file} in pieces of ${size}`).to.equal(true);
        expect(result.usage, `${file} in pieces of ${size}`).to.deep.equal(expected);
      }
    });
  }

  it('given a stream cut off after message_start, when it ends, then the input counts are kept and output is what was reported so far', () => {
    const whole = fixture('anthropic-messages.sse').toString('utf8');
    const cut = Buffer.from(whole.slice(0, whole.indexOf('event: content_block_start')));
    expect(meter('anthropic', cut, 5).usage).to.deep.equal({
      inputTokens: 1200,
      outputTokens: 1,
      cacheReadTokens: 3000,
      cacheWriteTokens: 500,
      cacheWrite1hTokens: 300,
    });
  });

  it('given non-streamed JSON bodies (and Gemini’s JSON array of chunks), when they end, then their usage is read from the body', () => {
    const anthropic = Buffer.from(
      JSON.stringify({ id: 'msg', usage: { input_tokens: 10, output_tokens: 20, cache_read_input_tokens: 5, cache_creation_input_tokens: 0 } }),
    );
    expect(meter('anthropic', anthropic, 3, 'application/json').usage).to.deep.equal({
      inputTokens: 10,
      outputTokens: 20,
      cacheReadTokens: 5,
      cacheWriteTokens: 0,
      cacheWrite1hTokens: 0,
    });
    const chat = Buffer.from(JSON.stringify({ usage: { prompt_tokens: 100, completion_tokens: 9, prompt_tokens_details: { cached_tokens: 64 } } }));
    expect(meter('openai', chat, 4, 'application/json; charset=utf-8').usage).to.include({ inputTokens: 36, outputTokens: 9, cacheReadTokens: 64 });
    const array = Buffer.from(
      JSON.stringify([
        { usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 1 } },
        { usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 8 } },
      ]),
    );
    expect(meter('gemini', array, 2, 'application/json').usage).to.include({ inputTokens: 3, outputTokens: 8 });
  });

  it('given an error body or a stream with no usage, when it ends, then nothing is counted and the meter says it saw no usage', () => {
    const error = meter('anthropic', Buffer.from('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'), 10, 'application/json');
    expect(error).to.deep.equal({ seen: false, usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0 } });
    expect(meter('openai', Buffer.from('data: [DONE]\n\n'), 3).seen).to.equal(false);
  });
});
