/**
 * The response a ROS 2 client gets for a bus query, from the response type's defaults (`template`): the
 * template's fields that the reply has, and for the std_srvs convention (Trigger, SetBool) `success` and
 * `message` say how the query went when the reply has neither. A ROS 2 service has no error channel: this is
 * the only way to tell the caller. Both bridges (rclnodejs and Zenoh) answer with it.
 */
export function fillResponse(
  template: Record<string, unknown>,
  reply: unknown,
  error: string | undefined,
  replyText: string,
): Record<string, unknown> {
  const body =
    typeof reply === 'object' && reply !== null && !Array.isArray(reply) ? (reply as Record<string, unknown>) : {};
  const out: Record<string, unknown> = { ...template };
  for (const key of Object.keys(template)) if (key in body) out[key] = body[key];
  if (typeof template.success === 'boolean' && !('success' in body)) out.success = error === undefined;
  if (typeof template.message === 'string' && !('message' in body)) out.message = error ?? replyText;
  return out;
}

/** Whether a response of this shape tells the caller how the call went (`success` and `message`, as std_srvs). */
export function saysOutcome(template: Record<string, unknown>): boolean {
  return typeof template.success === 'boolean' && typeof template.message === 'string';
}
