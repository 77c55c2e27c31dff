import Type from 'typebox';
import { defineSkill } from './skill.ts';
import { errorText } from '../../util/index.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const callService = defineSkill({
  name: 'call_service',
  description: 'Call a service or query on the robot bus (request/reply) with a JSON request; returns the JSON reply.',
  parameters: Type.Object(
    { name: Type.String({ minLength: 1, maxLength: 256 }), request: Type.Record(Type.String(), Type.Unknown()) },
    { additionalProperties: false },
  ),
  motion: false,
  cancellable: false,
  async execute({ name, request }, env) {
    const reply = await env.bus.query(
      name,
      { encoding: 'application/json', payload: encoder.encode(JSON.stringify(request)) },
      { timeoutMs: env.settings.service_timeout_ms },
    );
    if (reply.encoding !== 'application/json')
      return { service: name, encoding: reply.encoding, bytes: reply.payload.byteLength };
    try {
      return { service: name, reply: JSON.parse(decoder.decode(reply.payload)) as unknown };
    } catch (error) {
      throw new Error(
        `service ${name} replied with ${reply.payload.byteLength} bytes labelled application/json that are not JSON: ${errorText(error)}`,
      );
    }
  },
});
