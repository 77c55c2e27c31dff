import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

type Attr = number | number[] | string;

/**
 * Builds small ONNX graphs with onnx-proto, no Python: float32 and int64 initializers, nodes with int,
 * float, ints or string attributes, float32 (or uint8) inputs and float32 outputs. Enough for MLP policies and their
 * preprocessing (Clip, Gather, Reshape, ReduceMin).
 */
export class OnnxGraphBuilder {
  #nodes: onnxProto.onnx.INodeProto[] = [];
  #initializers: onnxProto.onnx.ITensorProto[] = [];
  #inputs: onnxProto.onnx.IValueInfoProto[] = [];
  #outputs: onnxProto.onnx.IValueInfoProto[] = [];
  #count = 0;

  input(name: string, dims: (number | string)[], dtype: 'float32' | 'uint8' = 'float32'): string {
    this.#inputs.push(valueInfo(name, dims, dtype === 'uint8' ? onnx.TensorProto.DataType.UINT8 : undefined));
    return name;
  }

  output(name: string, dims: (number | string)[]): void {
    this.#outputs.push(valueInfo(name, dims));
  }

  floats(name: string, dims: number[], values: ArrayLike<number>): string {
    const data = Float32Array.from(values);
    if (data.length !== dims.reduce((a, b) => a * b, 1))
      throw new RangeError(`initializer ${name}: ${data.length} values for dims ${dims}`);
    this.#initializers.push({
      name,
      dims,
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(data.buffer),
    });
    return name;
  }

  int64s(name: string, values: number[]): string {
    const data = BigInt64Array.from(values.map(BigInt));
    this.#initializers.push({
      name,
      dims: [values.length],
      dataType: onnx.TensorProto.DataType.INT64,
      rawData: new Uint8Array(data.buffer),
    });
    return name;
  }

  /** Adds a node; returns its (single) output name, `out` or a generated one. */
  node(opType: string, inputs: string[], attributes: Record<string, Attr> = {}, out?: string): string {
    const output = out ?? `${opType.toLowerCase()}_${this.#count++}`;
    this.#nodes.push({
      opType,
      input: inputs,
      output: [output],
      name: output,
      attribute: Object.entries(attributes).map(([k, v]) => attribute(k, v)),
    });
    return output;
  }

  /** A fully connected layer: Gemm with weight [out, in] (transB), then an optional activation. */
  dense(
    x: string,
    weight: Float32Array,
    bias: Float32Array,
    activation: 'tanh' | 'relu' | 'none',
    name: string,
    out?: string,
  ): string {
    const w = this.floats(`${name}.weight`, [bias.length, weight.length / bias.length], weight);
    const b = this.floats(`${name}.bias`, [bias.length], bias);
    const y = this.node('Gemm', [x, w, b], { transB: 1 }, activation === 'none' ? out : undefined);
    if (activation === 'none') return y;
    return this.node(activation === 'tanh' ? 'Tanh' : 'Relu', [y], {}, out);
  }

  toBytes(
    options: { opset?: number; producer?: string; metadata?: Record<string, string>; name?: string } = {},
  ): Uint8Array {
    const { opset = 17, producer = 'auraison-edge', metadata = {}, name = 'policy' } = options;
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: producer,
      opsetImport: [{ domain: '', version: opset }],
      graph: { name, node: this.#nodes, initializer: this.#initializers, input: this.#inputs, output: this.#outputs },
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(
  name: string,
  dims: (number | string)[],
  elemType: number = onnx.TensorProto.DataType.FLOAT,
): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  return Number.isInteger(value) ? { name, type: T.INT, i: value } : { name, type: T.FLOAT, f: value };
}

/** A linear policy y = W x + b (W: [out, in]), e.g. for tests and replay baselines. */
export function buildLinearPolicy(options: {
  inputName?: string;
  outputName?: string;
  weight: Float32Array;
  bias: Float32Array;
  metadata?: Record<string, string>;
}): Uint8Array {
  const { inputName = 'obs', outputName = 'actions', weight, bias, metadata } = options;
  const g = new OnnxGraphBuilder();
  const inDim = weight.length / bias.length;
  const x = g.input(inputName, [1, inDim]);
  g.dense(x, weight, bias, 'none', 'linear', outputName);
  g.output(outputName, [1, bias.length]);
  return g.toBytes({ metadata });
}
