import type { ComponentSpec } from '../lifecycle/component.ts';

/** Components of issue 3, in start order. */
export const BAGS_COMPONENTS: readonly ComponentSpec[] = [];
