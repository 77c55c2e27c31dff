import type { ComponentSpec } from '../lifecycle/component.ts';

/** Components of issue 6, in start order. */
export const API_COMPONENTS: readonly ComponentSpec[] = [];
