/** Whether `pattern` is a glob rather than one exact topic. */
export function isTopicGlob(pattern: string): boolean {
  return /[*?]/.test(pattern);
}

/**
 * Compiles a topic glob into a predicate. `*` matches within one name segment, `**` matches across
 * segments (a whole `**` token between slashes also none), `?` matches one character. `/camera/**`
 * matches `/camera/left/image_raw`; `/tf*` matches `/tf` and `/tf_static`.
 */
export function compileTopicGlob(glob: string): (topic: string) => boolean {
  if (!isTopicGlob(glob)) return (topic) => topic === glob;
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*' && glob[i - 1] === '/' && glob[i + 2] === '/') {
      source += '(?:.*/)?'; // `/**/` is zero or more whole tokens: `/**/cmd_vel` matches `/cmd_vel` too
      i += 2;
    } else if (c === '*' && glob[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (c === '*') {
      source += '[^/]*';
    } else if (c === '?') {
      source += '[^/]';
    } else {
      source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  const re = new RegExp(`^${source}$`);
  return (topic) => re.test(topic);
}

/** A topic selection: included by any `include` glob and excluded by no `exclude` glob. */
export function compileTopicSelection(
  include: readonly string[],
  exclude: readonly string[] = [],
): (topic: string) => boolean {
  const inc = include.map(compileTopicGlob);
  const exc = exclude.map(compileTopicGlob);
  return (topic) => inc.some((m) => m(topic)) && !exc.some((m) => m(topic));
}

/**
 * A selection of a bag's topics by config globs, which are fully qualified: a relative topic, as a bag file may
 * name one (`cmd_vel`, written by a rosbag2_py script), is taken in the root namespace, as bag play publishes it.
 */
export function compileBagTopicSelection(
  include: readonly string[],
  exclude: readonly string[] = [],
): (topic: string) => boolean {
  const select = compileTopicSelection(include, exclude);
  return (topic) => select(topic.startsWith('/') ? topic : `/${topic}`);
}

/** Whether a name segment of `topic` begins with `_`: ROS 2 hides it (an action's `/_action/` topics among them). */
export function isHiddenTopic(topic: string): boolean {
  return topic.includes('/_');
}

/**
 * A recorder's selection, as `ros2 bag record` makes it: a hidden topic (see isHiddenTopic) is taken only when
 * `includeHidden` is set (`--include-hidden-topics`) or an include names it exactly.
 */
export function compileRecordSelection(
  include: readonly string[],
  exclude: readonly string[],
  includeHidden: boolean,
): (topic: string) => boolean {
  const select = compileTopicSelection(include, exclude);
  const named = new Set(include.filter((p) => !isTopicGlob(p)));
  return (topic) => select(topic) && (includeHidden || named.has(topic) || !isHiddenTopic(topic));
}
