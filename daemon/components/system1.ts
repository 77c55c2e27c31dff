import type { ComponentSpec } from '../lifecycle/component.ts';

/** Components of issue 4, in start order. */
export const SYSTEM1_COMPONENTS: readonly ComponentSpec[] = [];
