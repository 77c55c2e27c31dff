/** What one model reply may hold. Enforced while it streams: the request is aborted at the first byte over. */
export interface ReplyLimits {
  /** One tool call's argument text, bytes (UTF-8). */
  max_tool_argument_bytes: number;
  /** Everything the reply carries (text, reasoning, tool names and arguments), bytes. */
  max_reply_bytes: number;
}

/** The config's defaults (llm.max_tool_argument_bytes, llm.max_reply_bytes), for callers without a config. */
export const DEFAULT_REPLY_LIMITS: ReplyLimits = {
  max_tool_argument_bytes: 256 * 1024,
  max_reply_bytes: 4 * 1024 * 1024,
};

/** Slack for one SSE line's JSON around the reply bytes it carries: a line may hold max_reply_bytes plus this. */
export const LINE_SLACK_BYTES = 64 * 1024;
