/** A figure /status shows: what JSON carries (a key whose value is undefined is left out). */
export type StatusFigure = string | number | boolean | null | undefined | readonly StatusFigure[] | StatusFigures;

/** Named figures: a component's health details (ComponentHealth.details) and their nested groups. */
export type StatusFigures = { readonly [key: string]: StatusFigure };
