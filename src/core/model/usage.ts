/** What the model gateway meters, as stored and reported. */

export type VendorName = 'anthropic' | 'openai' | 'gemini';

/** Token counts in four disjoint kinds, so one price table fits every vendor (gateway/usage.ts says how each vendor's are read). */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** Of `cacheWriteTokens`, those written with the one-hour cache lifetime. */
  cacheWrite1hTokens: number;
}
