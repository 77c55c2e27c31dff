import { Value } from 'typebox/value';
import { LlmEndpointConfig, type LlmEndpointSettings } from '../../daemon/config/index.ts';
import { chatOnce, listModels } from './chat-client.ts';
import { resolveEndpoint } from './model.ts';
import { redactUrl } from '../../daemon/util/index.ts';

export interface EndpointCheck {
  name: string;
  base_url: string;
  model: string | null;
  models: { ok: true; ids: string[]; served: boolean | null } | { ok: false; error: string };
  completion:
    | { ok: true; ttft_ms: number; total_ms: number; content: string; finish_reason: string | null }
    | { ok: false; error: string }
    | { ok: false; skipped: string };
  ok: boolean;
}

export interface CheckReport {
  ok: boolean;
  endpoints: EndpointCheck[];
  problem?: string;
}

export interface CheckOptions {
  endpoints: readonly LlmEndpointSettings[];
  baseUrl?: string;
  model?: string;
  apiKeyEnv?: string;
  timeoutMs?: number;
  env: NodeJS.ProcessEnv;
}

/** `llm check`: each endpoint's model list and one short timed completion; what failed, in words. */
export async function checkEndpoints(options: CheckOptions): Promise<CheckReport> {
  const { baseUrl, model, apiKeyEnv, timeoutMs, env } = options;
  const targets: LlmEndpointSettings[] = baseUrl
    ? [
        Value.Default(LlmEndpointConfig, {
          name: 'cli',
          base_url: baseUrl,
          model: model ?? '',
          api_key_env: apiKeyEnv ?? '',
        }) as LlmEndpointSettings,
      ]
    : options.endpoints.map((e) => (model ? { ...e, model } : e));
  if (targets.length === 0)
    return {
      ok: false,
      endpoints: [],
      problem: 'no endpoint to check: llm.endpoints is empty in the config; give --base-url',
    };
  const endpoints: EndpointCheck[] = [];
  for (const settings of targets) {
    const tuned: LlmEndpointSettings = timeoutMs
      ? {
          ...settings,
          connect_timeout_ms: timeoutMs,
          first_token_timeout_ms: timeoutMs,
          idle_timeout_ms: timeoutMs,
          retries: 0,
        }
      : { ...settings, retries: 0 };
    endpoints.push(await checkOne(tuned, env, timeoutMs));
  }
  return { ok: endpoints.every((e) => e.ok), endpoints };
}

async function checkOne(
  settings: LlmEndpointSettings,
  env: NodeJS.ProcessEnv,
  timeoutMs: number | undefined,
): Promise<EndpointCheck> {
  let models: EndpointCheck['models'];
  let modelId = settings.model || null;
  try {
    const ids = await listModels(resolveEndpoint(settings, env), undefined, timeoutMs);
    modelId ??= ids[0] ?? null;
    models = { ok: true, ids, served: settings.model ? ids.includes(settings.model) : null };
  } catch (error) {
    models = { ok: false, error: describeFailure(error) };
  }
  let completion: EndpointCheck['completion'];
  if (!modelId)
    completion = { ok: false, skipped: 'no model to complete with: give --model, or the endpoint lists none' };
  else {
    try {
      const reply = await chatOnce(resolveEndpoint({ ...settings, model: modelId }, env), {
        messages: [{ role: 'user', content: 'Reply with the single word: ok' }],
        max_tokens: 8,
        temperature: 0,
      });
      completion = {
        ok: true,
        ttft_ms: round(reply.ttft_ms),
        total_ms: round(reply.total_ms),
        content: reply.content,
        finish_reason: reply.finish_reason,
      };
    } catch (error) {
      completion = { ok: false, error: describeFailure(error) };
    }
  }
  const served = !models.ok || models.served !== false;
  return {
    name: settings.name,
    base_url: redactUrl(settings.base_url),
    model: modelId,
    models,
    completion,
    ok: models.ok && served && completion.ok,
  };
}

/** What a network error code means, for the ones an engineer pointing at an endpoint meets. */
const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'DNS lookup failed',
  EAI_AGAIN: 'DNS lookup failed (temporarily)',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
};

interface NetworkCause {
  message?: string;
  code?: string;
  address?: string;
  port?: number;
  hostname?: string;
  errors?: unknown[];
  cause?: unknown;
}

/** What fetch refuses before connecting says in one or two words; in words a user acts on. */
const FETCH_REFUSALS: Record<string, string> = {
  // The Fetch standard's port blocking (9, 21, 22, 25, 6000, 6665-6669, ...): fetch never dials those.
  'bad port':
    "the URL's port is one fetch refuses to connect to (the Fetch standard's blocked ports, such as 9, 21, 25, 6000 and 6665-6669): serve the endpoint on another port (vLLM's default is 8000) and give that",
};

/** How deep describeFailure looks into `cause`: fetch's reason is two or three levels down. */
const MAX_CAUSE_HOPS = 10;

/**
 * An endpoint failure in words. The openai library says only "Connection error." and fetch "fetch failed":
 * the reason (refused, DNS, timeout; host and port) is in the innermost `cause`, or in each of an
 * AggregateError's errors (localhost tried as ::1 and 127.0.0.1). Any URL in the text loses its password.
 */
export function describeFailure(error: unknown): string {
  let inner = error as NetworkCause | undefined;
  // Bounded: a cause chain may loop back on itself (an error made its own cause), and real ones are short.
  for (let hops = 0; hops < MAX_CAUSE_HOPS && inner?.cause && typeof inner.cause === 'object'; hops++)
    inner = inner.cause as NetworkCause;
  const causes = inner?.errors?.length ? (inner.errors as NetworkCause[]) : [inner];
  const described = causes.map((c) => {
    if (!c?.code) return undefined;
    const where = c.address ? `${c.address}${c.port ? `:${c.port}` : ''}` : c.hostname;
    return `${NETWORK_CODES[c.code] ?? c.message ?? 'network error'} (${c.code}${where ? ` ${where}` : ''})`;
  });
  const message = inner?.message;
  const text = described.every((d) => d)
    ? [...new Set(described)].join('; ')
    : ((message !== undefined ? FETCH_REFUSALS[message] : undefined) ?? message ?? String(error));
  return text.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s"']+/gi, redactUrl);
}

const round = (ms: number) => Math.round(ms * 10) / 10;

export function formatCheck(report: CheckReport): string {
  if (report.problem) return `${report.problem}\n`;
  const lines: string[] = [];
  for (const e of report.endpoints) {
    lines.push(`${e.ok ? 'ok  ' : 'FAIL'} ${e.name} ${e.base_url} model ${e.model ?? '(none)'}`);
    if (e.models.ok) {
      lines.push(`     models: ${e.models.ids.join(', ') || '(none)'}`);
      if (e.models.served === false) lines.push(`     problem: the configured model ${e.model} is not among them`);
    } else lines.push(`     models: failed: ${e.models.error}`);
    const c = e.completion;
    if (c.ok)
      lines.push(
        `     completion: first token ${c.ttft_ms} ms, total ${c.total_ms} ms, finish ${c.finish_reason}: ${JSON.stringify(c.content)}`,
      );
    else lines.push(`     completion: ${'skipped' in c ? `skipped: ${c.skipped}` : `failed: ${c.error}`}`);
  }
  return `${lines.join('\n')}\n`;
}
