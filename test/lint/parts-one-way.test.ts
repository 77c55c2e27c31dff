import { describe, expect, it } from 'vitest';
// @ts-expect-error: lint/parts.js is plain JavaScript without declarations
import { crossPartImports, isCore, isFace, isOuter, isTest, mayReachIn, partCycles } from '../../lint/parts.js';
// @ts-expect-error: the same module
import { packageOf } from '../../lint/parts.js';

interface Edge {
  from: string;
  to: string;
  fromPart: string | undefined;
  toPart: string;
  line: number;
}

const edges = crossPartImports() as Edge[];
const product = edges.filter((e) => !isTest(e.from));
const where = (e: Edge) => `${e.from}:${e.line} -> ${e.to}`;

describe('the parts depend one way', () => {
  it('has no cycle between parts (folders under daemon/, adapters/<x>, sim/<x>, central-link)', () => {
    expect(partCycles(edges)).toEqual([]);
  });

  it('never has the core import an adapter, a sim or the central link except through the component registry', () => {
    expect(product.filter((e) => isCore(e.fromPart) && isOuter(e.toPart)).map(where)).toEqual([]);
  });

  it('imports another part only through its index.ts (tests, benches and the registry aside)', () => {
    expect(product.filter((e) => !isFace(e.to) && !mayReachIn(e.from)).map(where)).toEqual([]);
  });

  it('never crosses into or out of the central package by a path (it and the root use each other by name)', () => {
    const crossing = (e: Edge) => packageOf(e.from) !== packageOf(e.to);
    const measures = (e: Edge) => isTest(e.from) || e.from.startsWith('bench/');
    expect(edges.filter((e) => crossing(e) && !measures(e)).map(where)).toEqual([]);
    // the benches (and tests) of both run from the root and may: the scan sees the benches' imports of central
    expect(edges.filter((e) => crossing(e) && measures(e)).length).toBeGreaterThan(0);
  });

  it('sees the imports it checks (an empty scan would pass everything)', () => {
    expect(product.length).toBeGreaterThan(300);
  });
});
