// The few protocol-buffer writes an ONNX file needs: varints, 32-bit floats, length-delimited bytes,
// strings and embedded messages. Writing only: the engine never reads protobuf, so no reader here.
// A message is a list of chunks and their total length, so embedding a child copies no bytes; the
// one copy happens in proto_finish. Field numbers and wire types: protobuf.dev/programming-guides/encoding.

export interface ProtoMessage {
  chunks: Uint8Array[];
  length: number;
}

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

const utf8 = new TextEncoder();

export function proto_message(): ProtoMessage {
  return { chunks: [], length: 0 };
}

function push(m: ProtoMessage, bytes: Uint8Array): void {
  m.chunks.push(bytes);
  m.length += bytes.length;
}

/**
 * v as a base-128 varint. int32/int64 fields write a negative v as its 64-bit two's complement (10
 * bytes), as protobuf does; v must be a safe integer.
 */
function varint(v: number): Uint8Array {
  if (!Number.isSafeInteger(v)) throw new Error(`protobuf varint: ${v} is not a safe integer`);
  let u = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  while (u >= 0x80n) {
    out.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  out.push(Number(u));
  return Uint8Array.from(out);
}

const key = (field: number, wire: number) => varint((field << 3) | wire);

/** An int32, int64 or enum field. */
export function proto_int(m: ProtoMessage, field: number, v: number): void {
  push(m, key(field, WIRE_VARINT));
  push(m, varint(v));
}

/** A float field (fixed32, little-endian). */
export function proto_float(m: ProtoMessage, field: number, v: number): void {
  push(m, key(field, WIRE_FIXED32));
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, v, true);
  push(m, b);
}

/** A bytes field; the bytes are referenced, not copied, until proto_finish. */
export function proto_bytes(m: ProtoMessage, field: number, bytes: Uint8Array): void {
  push(m, key(field, WIRE_LENGTH_DELIMITED));
  push(m, varint(bytes.length));
  push(m, bytes);
}

export function proto_string(m: ProtoMessage, field: number, s: string): void {
  proto_bytes(m, field, utf8.encode(s));
}

/** An embedded message field: child's chunks are appended after its key and length. */
export function proto_embed(m: ProtoMessage, field: number, child: ProtoMessage): void {
  push(m, key(field, WIRE_LENGTH_DELIMITED));
  push(m, varint(child.length));
  for (const c of child.chunks) push(m, c);
}

/** The message's bytes, in one allocation. */
export function proto_finish(m: ProtoMessage): Uint8Array {
  const out = new Uint8Array(m.length);
  let at = 0;
  for (const c of m.chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
