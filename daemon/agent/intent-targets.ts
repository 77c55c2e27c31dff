/**
 * Whom an intent is for. `targets` names robots by their robot.id (`tb3-1`) and resources on a robot as
 * `<robot id>/<resource>` (`ar4-1/arm`, `ar4-1/policy/pick_place`: an arm, a named policy). An empty list
 * means the robot that received the intent. A robot runs an intent only when it is among the targets, by
 * its id or one of its resources: an intent for another robot, sent to this one by mistake (a wrong topic,
 * a copied script), must not drive it.
 */
export function addressesRobot(targets: readonly string[], robotId: string): boolean {
  if (targets.length === 0) return true;
  return targets.some((target) => target === robotId || target.startsWith(`${robotId}/`));
}

/** Why an intent is not for this robot, for the refusal that names it; undefined when it is. */
export function misdirection(targets: readonly string[], robotId: string): string | undefined {
  if (addressesRobot(targets, robotId)) return undefined;
  const shown =
    targets
      .slice(0, 5)
      .map((t) => JSON.stringify(t))
      .join(', ') + (targets.length > 5 ? ', ...' : '');
  return `targets: the intent is for ${shown}, not this robot (${JSON.stringify(robotId)}): a target is a robot id or <robot id>/<resource>; nothing was run`;
}
