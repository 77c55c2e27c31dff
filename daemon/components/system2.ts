import type { ComponentSpec } from '../lifecycle/component.ts';

/** Components of issue 5, in start order. */
export const SYSTEM2_COMPONENTS: readonly ComponentSpec[] = [];
