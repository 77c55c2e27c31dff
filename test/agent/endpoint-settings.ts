import { Value } from 'typebox/value';
import { LlmEndpointConfig, type LlmEndpointSettings } from '../../daemon/config/sections/system2.ts';

/** Endpoint settings with the config's defaults, and short backoff so retry tests stay fast. */
export function endpointSettings(
  partial: Partial<LlmEndpointSettings> & { name: string; base_url: string },
): LlmEndpointSettings {
  return Value.Default(LlmEndpointConfig, {
    model: 'scripted-model',
    backoff_ms: 1,
    backoff_max_ms: 2,
    ...partial,
  }) as LlmEndpointSettings;
}
