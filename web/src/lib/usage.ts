// Formatting of token counts and costs, shared by the list, the detail header and the
// transcript.
import type { SessionUsage } from "../generated";

/** Dollars for people: cents when it is at least a cent, else four decimals. */
export function formatUsd(usd: number): string {
  if (usd === 0) return "$0";
  if (usd >= 100) return `$${usd.toFixed(0)}`;
  if (usd >= 0.01) return `$${usd.toFixed(2)}`;
  return `$${usd.toFixed(4)}`;
}

/** Token counts for people: 950, 12.3k, 1.2M. */
export function formatTokens(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** All tokens of a session (input, output, cache reads and writes). */
export function totalTokens(u: SessionUsage): number {
  return u.inputTokens + u.outputTokens + u.cacheReadTokens + u.cacheCreationTokens;
}

/** One line: cost, tokens and context, for titles and headers. */
export function describeUsage(u: SessionUsage): string {
  const unpriced = u.unpricedRequests > 0 ? ` (${u.unpricedRequests} request${u.unpricedRequests === 1 ? "" : "s"} without a price)` : "";
  const reported = u.reportedRequests > 0 ? ` (${u.reportedRequests} of ${u.requests} from Claude Code's telemetry)` : "";
  return `${formatUsd(u.costUsd)}${unpriced}${reported} · ${formatTokens(u.inputTokens)} in · ${formatTokens(u.outputTokens)} out · ${formatTokens(u.cacheReadTokens)} cache read · ${formatTokens(u.cacheCreationTokens)} cache write · context ${formatTokens(u.contextTokens)}`;
}
