// A trained model as an ONNX file (IR version 8, opset 13), so that onnxruntime and the like can run it
// without this service. The graph computes what createPredictor does, step by step and in float32:
//
//   input (N, inputs), raw units
//   → Sub(mean) → Mul(1/std)                       the predictor's standardisation, only when the model has one
//   → Gemm(W⁽ˡ⁾, b⁽ˡ⁾, transB = 1) → Relu|Tanh|Sigmoid   per hidden layer; a⁽ˡ⁾ = z⁽ˡ⁻¹⁾W⁽ˡ⁾ᵀ + b⁽ˡ⁾
//   → Gemm(W⁽ᴸ⁾, b⁽ᴸ⁾, transB = 1) → the output:
//       softmax:          Softmax(axis 1)                       → "probabilities" (N, classes)
//       binary sigmoid:   Sigmoid → p; Concat(1 − p, p, axis 1) → "probabilities" (N, 2), as /v1/predict
//       regression:       [Sigmoid] → Mul(targetStd) → Add(targetMean) → "value" (N, outputs)
//
// The standardisation stays two nodes rather than being folded into W⁽¹⁾ and b⁽¹⁾: (x − mean)·(1/std) in
// float32 is exactly what the predictor's kernel computes, so the first layer sees the same bits, while
// folding would add b − W·diag(1/std)·mean, a difference of large numbers for features in raw units
// (pixels 0…255), and lose the agreement. A std of 0 gives 1/std = 0, so a constant feature becomes 0.
// Dropout is inverted (scaled at training time), so inference has no node for it.
// Writes bytes only: no I/O, and the protobuf is written by ./protobuf.ts rather than a library,
// because the dozen small messages needed take a few dozen lines and the engine stays dependency-free.
import { validateModel, type Model } from '../model.js';
import { paramLayout } from '../spec.js';
import type { HiddenActivation } from '../types.js';
import { describeModel, inverse_std } from './meta.js';
import {
  proto_bytes, proto_embed, proto_finish, proto_int, proto_message, proto_string, type ProtoMessage,
} from './protobuf.js';

export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 13;
export const ONNX_PRODUCER = 'mlp-service';
/** Names of the graph's input and outputs. */
export const ONNX_INPUT = 'input';
export const ONNX_PROBABILITIES = 'probabilities';
export const ONNX_VALUE = 'value';

// Field numbers from onnx/onnx.proto (proto2), only those written here.
const MODEL = { ir_version: 1, producer_name: 2, doc_string: 6, graph: 7, opset_import: 8, metadata_props: 14 };
const OPSET_ID = { domain: 1, version: 2 };
const GRAPH = { node: 1, name: 2, initializer: 5, doc_string: 10, input: 11, output: 12 };
const NODE = { input: 1, output: 2, name: 3, op_type: 4, attribute: 5 };
const ATTRIBUTE = { name: 1, i: 3, type: 20 };
const ATTRIBUTE_TYPE_INT = 2;
const TENSOR = { dims: 1, data_type: 2, name: 8, raw_data: 9 };
const TENSOR_FLOAT = 1;
const VALUE_INFO = { name: 1, type: 2, doc_string: 3 };
const TYPE = { tensor_type: 1 };
const TYPE_TENSOR = { elem_type: 1, shape: 2 };
const SHAPE = { dim: 1 };
const DIMENSION = { dim_value: 1, dim_param: 2 };
const ENTRY = { key: 1, value: 2 };

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** values as little-endian float32 bytes: a view of them on a little-endian host, a copy otherwise. */
function float_bytes(values: Float32Array): Uint8Array {
  if (HOST_LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  return out;
}

/** A float32 TensorProto of the given dims (row-major), for graph.initializer. */
function tensor_float(name: string, dims: number[], values: Float32Array): ProtoMessage {
  const t = proto_message();
  for (const d of dims) proto_int(t, TENSOR.dims, d);
  proto_int(t, TENSOR.data_type, TENSOR_FLOAT);
  proto_string(t, TENSOR.name, name);
  proto_bytes(t, TENSOR.raw_data, float_bytes(values));
  return t;
}

/** A NodeProto of the default (ai.onnx) domain; attributes here are all ints. */
function node(op: string, name: string, inputs: string[], outputs: string[], attributes: Record<string, number> = {}): ProtoMessage {
  const n = proto_message();
  for (const i of inputs) proto_string(n, NODE.input, i);
  for (const o of outputs) proto_string(n, NODE.output, o);
  proto_string(n, NODE.name, name);
  proto_string(n, NODE.op_type, op);
  for (const [key, value] of Object.entries(attributes)) {
    const a = proto_message();
    proto_string(a, ATTRIBUTE.name, key);
    proto_int(a, ATTRIBUTE.type, ATTRIBUTE_TYPE_INT);
    proto_int(a, ATTRIBUTE.i, value);
    proto_embed(n, NODE.attribute, a);
  }
  return n;
}

/** A float32 tensor's ValueInfoProto; a string dim is symbolic (the batch size "N"). */
function value_info(name: string, dims: (number | string)[], doc: string): ProtoMessage {
  const shape = proto_message();
  for (const d of dims) {
    const dim = proto_message();
    if (typeof d === 'string') proto_string(dim, DIMENSION.dim_param, d);
    else proto_int(dim, DIMENSION.dim_value, d);
    proto_embed(shape, SHAPE.dim, dim);
  }
  const tensorType = proto_message();
  proto_int(tensorType, TYPE_TENSOR.elem_type, TENSOR_FLOAT);
  proto_embed(tensorType, TYPE_TENSOR.shape, shape);
  const type = proto_message();
  proto_embed(type, TYPE.tensor_type, tensorType);
  const v = proto_message();
  proto_string(v, VALUE_INFO.name, name);
  proto_embed(v, VALUE_INFO.type, type);
  proto_string(v, VALUE_INFO.doc_string, doc);
  return v;
}

const HIDDEN_OP: Record<HiddenActivation, string> = { relu: 'Relu', tanh: 'Tanh', sigmoid: 'Sigmoid' };

/**
 * The model as ONNX ModelProto bytes: input "input" float32 (N, inputs) in raw units; output
 * "probabilities" float32 (N, classes) for classification, a binary sigmoid's one unit p giving
 * (1 − p, p), or "value" float32 (N, outputs) in uploaded units for regression. Throws
 * EngineError 'invalid_model' for a model whose arrays do not fit its network.
 */
export function exportOnnx(model: Model): Uint8Array {
  validateModel(model);
  const { network, params } = model;
  const described = describeModel(model);
  const { sizes, weightOffset, biasOffset } = paramLayout(network);
  const L = sizes.length - 1;
  const nIn = sizes[0], nOut = sizes[L];

  const graph = proto_message();
  proto_string(graph, GRAPH.name, 'mlp');
  const add_node = (n: ProtoMessage) => proto_embed(graph, GRAPH.node, n);
  const add_initializer = (name: string, dims: number[], values: Float32Array) =>
    proto_embed(graph, GRAPH.initializer, tensor_float(name, dims, values));

  // z⁽⁰⁾ (N, inputs): (x − mean)·(1/std), as the predictor's gather computes it.
  let z = ONNX_INPUT;
  if (model.mean !== null && model.std !== null) {
    add_initializer('input_mean', [nIn], model.mean);
    add_initializer('input_inv_std', [nIn], inverse_std(model.std));
    add_node(node('Sub', 'standardise_centre', [ONNX_INPUT, 'input_mean'], ['input_centred']));
    add_node(node('Mul', 'standardise_scale', ['input_centred', 'input_inv_std'], ['z0']));
    z = 'z0';
  }

  // a⁽ˡ⁾ (N, n⁽ˡ⁾) = z⁽ˡ⁻¹⁾ W⁽ˡ⁾ᵀ + b⁽ˡ⁾, with W⁽ˡ⁾ (n⁽ˡ⁾, n⁽ˡ⁻¹⁾) as stored; z⁽ˡ⁾ = h(a⁽ˡ⁾) for hidden layers.
  for (let l = 1; l <= L; l++) {
    add_initializer(`W${l}`, [sizes[l], sizes[l - 1]], params.subarray(weightOffset[l], weightOffset[l] + sizes[l] * sizes[l - 1]));
    add_initializer(`b${l}`, [sizes[l]], params.subarray(biasOffset[l], biasOffset[l] + sizes[l]));
    add_node(node('Gemm', `layer${l}_dense`, [z, `W${l}`, `b${l}`], [`a${l}`], { transB: 1 }));
    z = `a${l}`;
    if (l < L) {
      add_node(node(HIDDEN_OP[network.hidden[l - 1].activation], `layer${l}_activation`, [z], [`z${l}`]));
      z = `z${l}`;
    }
  }

  // The output layer's activation and what the service does after it.
  const aL = `a${L}`;
  let outputName: string, outputColumns: number, outputDoc: string;
  if (described.task === 'classification') {
    outputName = ONNX_PROBABILITIES;
    outputColumns = described.classes;
    if (network.output === 'softmax') {
      add_node(node('Softmax', 'output_softmax', [aL], [outputName], { axis: 1 }));
    } else if (described.binary) {
      add_initializer('one', [1], Float32Array.of(1));
      add_node(node('Sigmoid', 'output_sigmoid', [aL], ['p_class1']));
      add_node(node('Sub', 'output_complement', ['one', 'p_class1'], ['p_class0']));
      add_node(node('Concat', 'output_probabilities', ['p_class0', 'p_class1'], [outputName], { axis: 1 }));
    } else {
      add_node(node('Sigmoid', 'output_sigmoid', [aL], [outputName]));
    }
    outputDoc = described.binary
      ? 'float32 (N, 2): (1 − p, p) where p is the one sigmoid unit, p(class 1), as /v1/predict answers'
      : `float32 (N, ${outputColumns}): one ${network.output} probability per class`;
    if (described.classLabels !== null) outputDoc += `, columns in the order ${JSON.stringify(described.classLabels)}`;
  } else {
    outputName = ONNX_VALUE;
    outputColumns = nOut;
    let y = aL;
    if (network.output === 'sigmoid') {
      add_node(node('Sigmoid', 'output_sigmoid', [aL], [`z${L}`]));
      y = `z${L}`;
    }
    if (model.targetMean !== null && model.targetStd !== null) {
      // The network predicts (t − targetMean)/targetStd; back to uploaded units.
      add_initializer('target_std', [nOut], model.targetStd);
      add_initializer('target_mean', [nOut], model.targetMean);
      add_node(node('Mul', 'target_scale', [y, 'target_std'], ['value_scaled']));
      add_node(node('Add', 'target_shift', ['value_scaled', 'target_mean'], [outputName]));
    } else {
      add_node(node('Identity', 'output_value', [y], [outputName]));
    }
    outputDoc = `float32 (N, ${nOut}): the predicted value in the target's uploaded units`;
  }

  const inputDoc = `float32 (N, ${nIn}): one row per prediction, features in uploaded (raw) units` +
    (described.featureNames !== null ? `, in the order ${JSON.stringify(described.featureNames)}` : '') +
    (model.mean !== null ? '; the standardisation is inside the graph' : '');
  proto_embed(graph, GRAPH.input, value_info(ONNX_INPUT, ['N', nIn], inputDoc));
  proto_embed(graph, GRAPH.output, value_info(outputName, ['N', outputColumns], outputDoc));
  proto_string(graph, GRAPH.doc_string, `A multi-layer perceptron ${sizes.join('-')} exported by ${ONNX_PRODUCER}`);

  const m = proto_message();
  proto_int(m, MODEL.ir_version, ONNX_IR_VERSION);
  const opset = proto_message();
  proto_string(opset, OPSET_ID.domain, '');
  proto_int(opset, OPSET_ID.version, ONNX_OPSET);
  proto_embed(m, MODEL.opset_import, opset);
  proto_string(m, MODEL.producer_name, ONNX_PRODUCER);
  proto_string(m, MODEL.doc_string, `${described.task}: "${ONNX_INPUT}" ${inputDoc} → "${outputName}" ${outputDoc}`);
  proto_embed(m, MODEL.graph, graph);
  const metadata: [string, string][] = [['task', described.task], ['output', outputName]];
  if (described.classLabels !== null) metadata.push(['classes', JSON.stringify(described.classLabels)]);
  if (described.featureNames !== null) metadata.push(['feature_names', JSON.stringify(described.featureNames)]);
  for (const [key, value] of metadata) {
    const e = proto_message();
    proto_string(e, ENTRY.key, key);
    proto_string(e, ENTRY.value, value);
    proto_embed(m, MODEL.metadata_props, e);
  }
  return proto_finish(m);
}
