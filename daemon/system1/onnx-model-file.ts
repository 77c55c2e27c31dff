import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative } from 'node:path';
import type onnxProto from 'onnx-proto';
import { lfsPointerMessage, printable, readLfsPointer, errorText } from '../util/index.ts';

// onnx-proto (protobufjs, ~80 ms to load) is loaded on first use: the daemon imports this module for the
// model fingerprints of its SIGHUP check whether or not any policy is configured.
let proto: typeof onnxProto.onnx | undefined;
const onnx = (): typeof onnxProto.onnx =>
  (proto ??= (createRequire(import.meta.url)('onnx-proto') as typeof onnxProto).onnx);

/** ONNX TensorProto.DataType codes, by name (what ORT and the ONNX spec print). */
export const ONNX_DTYPES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
};

/** One graph input or output: a dimension is a number, or the name of a symbolic (dynamic) dimension. */
export interface TensorInfo {
  name: string;
  dtype: string;
  shape: (number | string)[];
  /** The model declares no shape (any rank): `shape` is then [], which is not a scalar. */
  shapeUnknown?: true;
}

/** What `policy inspect` prints: everything an operator needs to write a policy manifest. */
export interface OnnxModelInfo {
  path: string;
  irVersion: number;
  producer: string;
  /** Operator sets by domain ('' is the default ONNX domain, printed as `ai.onnx`). */
  opsets: { domain: string; version: number }[];
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  metadata: Record<string, string>;
  /** Files holding external weights (relative to the model), which must sit beside it. */
  externalData: string[];
  initializers: number;
  parameters: number;
  nodes: number;
}

export class OnnxModelError extends Error {
  override name = 'OnnxModelError';
}

const toNumber = (v: number | { toNumber(): number } | null | undefined): number =>
  v === null || v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber();

/**
 * Reads an .onnx file's graph signature, opsets and metadata_props with onnx-proto, without loading the
 * weights into a runtime. External weight files are listed (and checked to exist), not read.
 */
export function readOnnxModelInfo(path: string): OnnxModelInfo {
  const model = decodeModel(path);
  const graph = model.graph;
  if (!graph) throw new OnnxModelError(`${path} is an ONNX file without a graph`);
  const initializers = graph.initializer ?? [];
  const initNames = new Set(initializers.map((i) => i.name ?? ''));
  const valueInfo = (v: onnxProto.onnx.IValueInfoProto): TensorInfo => {
    const tensor = v.type?.tensorType;
    return {
      name: v.name ?? '',
      dtype: tensor ? (ONNX_DTYPES[tensor.elemType ?? 0] ?? `type${tensor.elemType}`) : 'non-tensor',
      shape: (tensor?.shape?.dim ?? []).map((d) =>
        d.dimParam ? d.dimParam : d.dimValue !== null && d.dimValue !== undefined ? toNumber(d.dimValue) : '?',
      ),
      ...(tensor && !tensor.shape ? { shapeUnknown: true as const } : {}),
    };
  };
  const externalData = new Set<string>();
  let parameters = 0;
  for (const init of initializers) {
    const elements = (init.dims ?? []).reduce<number>((n, d) => n * toNumber(d), 1);
    parameters += elements;
    const entries = externalEntries(init);
    const location = entries.get('location');
    if (!location) continue;
    externalData.add(location);
    checkExternalData(
      path,
      init.name ?? '',
      location,
      Number(entries.get('offset') ?? 0),
      entries.has('length') ? Number(entries.get('length')) : elements * (ELEMENT_BYTES[init.dataType ?? 0] ?? 0),
    );
  }
  return {
    path,
    irVersion: toNumber(model.irVersion),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    opsets: model.opsetImport.map((o) => ({ domain: o.domain || 'ai.onnx', version: toNumber(o.version) })),
    // Older exporters list initializers among the inputs; they are weights, not inputs a caller feeds.
    inputs: (graph.input ?? []).filter((i) => !initNames.has(i.name ?? '')).map(valueInfo),
    outputs: (graph.output ?? []).map(valueInfo),
    metadata: Object.fromEntries(model.metadataProps.map((p) => [p.key ?? '', p.value ?? ''])),
    externalData: [...externalData],
    initializers: initializers.length,
    parameters,
    nodes: (graph.node ?? []).length,
  };
}

/**
 * Refuses a model path that is not a regular file before anything opens it: opening a FIFO blocks until a writer
 * comes, on the daemon's main thread, where no SIGTERM or stop would be handled any more.
 */
export function assertModelIsFile(path: string): void {
  let stat;
  try {
    stat = statSync(path);
  } catch (error) {
    throw new OnnxModelError(`cannot read ONNX model ${path}: ${errorText(error)}`);
  }
  if (!stat.isFile()) {
    const kind = stat.isFIFO()
      ? 'a named pipe'
      : stat.isDirectory()
        ? 'a directory'
        : stat.isSocket()
          ? 'a socket'
          : 'a device';
    throw new OnnxModelError(`ONNX model ${path} is ${kind}, not a file: give the path of the .onnx file itself`);
  }
}

function decodeModel(path: string): onnxProto.onnx.ModelProto {
  assertModelIsFile(path);
  if (readLfsPointer(path)) throw new OnnxModelError(lfsPointerMessage([path], 'ONNX model'));
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new OnnxModelError(`cannot read ONNX model ${path}: ${errorText(error)}`);
  }
  try {
    return onnx().ModelProto.decode(bytes);
  } catch (error) {
    throw new OnnxModelError(`${path} is not an ONNX model (protobuf decode failed: ${errorText(error)})`);
  }
}

/** An initializer's external_data entries (location, offset, length, checksum) by key. */
const externalEntries = (init: onnxProto.onnx.ITensorProto): Map<string, string> =>
  new Map((init.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));

/**
 * The model file and every external data file its initializers name, as size and mtime: what changes
 * when a deployment replaces any of them in place. ONNX lets an exporter name those files anything (the
 * `location` of each initializer's external_data, relative to the model's directory), so they are read
 * from the model, not guessed from `<model>.data`. A missing file stamps as `missing`; a model that can't
 * be read or decoded stamps itself alone (loading it fails and says why).
 */
export function modelFingerprint(path: string): string {
  const stamp = (file: string): string => {
    const st = statSync(file, { throwIfNoEntry: false });
    return st ? `${st.size}@${st.mtimeMs}` : 'missing';
  };
  const own = stamp(path);
  // A model with its weights inside can be hundreds of MB: decoded again only when the file changed.
  let locations = externalLocations.get(path)?.stamp === own ? externalLocations.get(path)!.locations : undefined;
  if (locations === undefined) {
    try {
      const initializers = decodeModel(path).graph?.initializer ?? [];
      locations = [
        ...new Set(initializers.map((i) => externalEntries(i).get('location')).filter((l): l is string => !!l)),
      ];
    } catch {
      locations = []; // Unreadable or not ONNX: the model's own stamp says it changed; the load reports what is wrong.
    }
    externalLocations.set(path, { stamp: own, locations });
  }
  return [`${path}=${own}`, ...locations.map((l) => `${l}=${stamp(join(dirname(path), l))}`)].join(' ');
}

/** The external data files each model names, by its path, with the stamp of the model they were read from. */
const externalLocations = new Map<string, { stamp: string; locations: string[] }>();

/** Bytes per element of ONNX tensor types with a fixed size (TensorProto.DataType). */
const ELEMENT_BYTES: Record<number, number> = {
  1: 4,
  2: 1,
  3: 1,
  4: 2,
  5: 2,
  6: 4,
  7: 8,
  9: 1,
  10: 2,
  11: 8,
  12: 4,
  13: 8,
  16: 2,
};

/**
 * An initializer's external weights must be in a file beside the model (ONNX resolves the location from
 * the model's directory and refuses to leave it) and hold the bytes the tensor needs: checked here, so a
 * model that can't load is not reported as fine.
 */
function checkExternalData(model: string, tensor: string, location: string, offset: number, length: number): void {
  const dir = dirname(model);
  const file = join(dir, location);
  if (isAbsolute(location) || relative(dir, file).startsWith('..')) {
    throw new OnnxModelError(
      `${model}: tensor "${tensor}" keeps its weights at ${location}, outside the model's directory; ONNX external data must sit beside the model`,
    );
  }
  if (!existsSync(file)) {
    throw new OnnxModelError(
      `${model} keeps its weights in ${location}, which is not beside it (${file}); copy the .onnx.data file next to the model`,
    );
  }
  if (readLfsPointer(file))
    throw new OnnxModelError(`${model}: its weights: ${lfsPointerMessage([file], 'external data')}`);
  const size = statSync(file).size;
  if (!Number.isFinite(offset) || !Number.isFinite(length) || offset < 0 || offset + length > size) {
    throw new OnnxModelError(
      `${model}: tensor "${tensor}" needs bytes ${offset} to ${offset + length} of ${location}, which has ${size} bytes (cut short, or not this model's weights)`,
    );
  }
}

/** A text rendering of the info, as `policy inspect` prints it. */
export function formatOnnxModelInfo(info: OnnxModelInfo): string {
  // Names, shapes and metadata come from the file: printed with control characters escaped.
  const shape = (t: TensorInfo) =>
    t.dtype === 'non-tensor' ? '' : t.shapeUnknown ? 'shape unknown (any rank)' : printable(`[${t.shape.join(', ')}]`);
  const tensorLine = (t: TensorInfo) => `  ${printable(t.name).padEnd(24)} ${t.dtype.padEnd(8)} ${shape(t)}`.trimEnd();
  const lines = [
    `model      ${info.path}`,
    `ir         ${info.irVersion}${info.producer ? `, producer ${printable(info.producer)}` : ''}`,
    `opset      ${info.opsets.map((o) => `${o.domain} ${o.version}`).join(', ')}`,
    `graph      ${info.nodes} nodes, ${info.initializers} initializers, ${info.parameters.toLocaleString('en-US')} parameters`,
  ];
  if (info.externalData.length > 0) lines.push(`weights    external: ${printable(info.externalData.join(', '))}`);
  lines.push('', 'inputs:');
  for (const t of info.inputs) lines.push(tensorLine(t));
  lines.push('', 'outputs:');
  for (const t of info.outputs) lines.push(tensorLine(t));
  const keys = Object.keys(info.metadata);
  lines.push('', keys.length === 0 ? 'metadata_props: none' : 'metadata_props:');
  for (const k of keys) {
    const v = printable(info.metadata[k]!);
    lines.push(`  ${printable(k).padEnd(24)} ${v.length > 100 ? `${v.slice(0, 97)}...` : v}`);
  }
  return `${lines.join('\n')}\n`;
}
