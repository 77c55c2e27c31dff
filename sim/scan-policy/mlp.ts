import { seededRandom } from '../../daemon/util/index.ts';

/** A one-hidden-layer tanh MLP in plain TypeScript: y = W2 tanh(W1 x + b1) + b2 (weights row-major [out, in]). */
export interface Mlp {
  inDim: number;
  hidden: number;
  outDim: number;
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
}

export function forward(m: Mlp, x: ArrayLike<number>, hiddenOut?: Float32Array): Float32Array {
  const h = hiddenOut ?? new Float32Array(m.hidden);
  for (let j = 0; j < m.hidden; j++) {
    let s = m.b1[j]!;
    for (let i = 0; i < m.inDim; i++) s += m.w1[j * m.inDim + i]! * x[i]!;
    h[j] = Math.tanh(s);
  }
  const y = new Float32Array(m.outDim);
  for (let k = 0; k < m.outDim; k++) {
    let s = m.b2[k]!;
    for (let j = 0; j < m.hidden; j++) s += m.w2[k * m.hidden + j]! * h[j]!;
    y[k] = s;
  }
  return y;
}

/**
 * Fits the MLP to (x, y) pairs by minibatch Adam on mean squared error. Inputs and targets should be
 * scaled to about unit range by the caller. Deterministic for a seed.
 */
export function trainMlp(
  xs: Float32Array[],
  ys: Float32Array[],
  options: { hidden: number; epochs: number; lr?: number; batch?: number; seed?: number },
): { mlp: Mlp; loss: number } {
  const { hidden, epochs, lr = 3e-3, batch = 64, seed = 1 } = options;
  const rand = seededRandom(seed);
  const inDim = xs[0]!.length;
  const outDim = ys[0]!.length;
  const init = (n: number, fanIn: number) =>
    Float32Array.from({ length: n }, () => (rand() * 2 - 1) * Math.sqrt(3 / fanIn));
  const m: Mlp = {
    inDim,
    hidden,
    outDim,
    w1: init(hidden * inDim, inDim),
    b1: new Float32Array(hidden),
    w2: init(outDim * hidden, hidden),
    b2: new Float32Array(outDim),
  };
  const params = [m.w1, m.b1, m.w2, m.b2];
  const grads = params.map((p) => new Float64Array(p.length));
  const mom = params.map((p) => new Float64Array(p.length));
  const vel = params.map((p) => new Float64Array(p.length));
  const order = xs.map((_, i) => i);
  const h = new Float32Array(hidden);
  const dh = new Float64Array(hidden);
  let step = 0;
  let loss = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    loss = 0;
    for (let start = 0; start < order.length; start += batch) {
      for (const g of grads) g.fill(0);
      const end = Math.min(order.length, start + batch);
      for (let b = start; b < end; b++) {
        const x = xs[order[b]!]!;
        const y = ys[order[b]!]!;
        const out = forward(m, x, h);
        dh.fill(0);
        for (let k = 0; k < outDim; k++) {
          const e = out[k]! - y[k]!;
          loss += e * e;
          const d = (2 * e) / (end - start);
          grads[3]![k]! += d;
          for (let j = 0; j < hidden; j++) {
            grads[2]![k * hidden + j]! += d * h[j]!;
            dh[j]! += d * m.w2[k * hidden + j]!;
          }
        }
        for (let j = 0; j < hidden; j++) {
          const dz = dh[j]! * (1 - h[j]! * h[j]!);
          grads[1]![j]! += dz;
          for (let i = 0; i < inDim; i++) grads[0]![j * inDim + i]! += dz * x[i]!;
        }
      }
      step++;
      const c1 = 1 - 0.9 ** step;
      const c2 = 1 - 0.999 ** step;
      params.forEach((p, n) => {
        const g = grads[n]!;
        const mo = mom[n]!;
        const ve = vel[n]!;
        for (let i = 0; i < p.length; i++) {
          mo[i] = 0.9 * mo[i]! + 0.1 * g[i]!;
          ve[i] = 0.999 * ve[i]! + 0.001 * g[i]! * g[i]!;
          p[i]! -= (lr * (mo[i]! / c1)) / (Math.sqrt(ve[i]! / c2) + 1e-8);
        }
      });
    }
    loss /= order.length * outDim;
  }
  return { mlp: m, loss };
}
