// Little-endian byte writing and bounds-checked reading for the model and training-state formats:
// a 4-byte magic, a uint32 version, the fields, and a CRC-32 of everything before it as the last 4 bytes.
// Float arrays start on 4-byte boundaries and are copied as raw bytes, so they round-trip bit for bit.
import { EngineError, type EngineErrorCode } from './errors.js';

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, as in zip and PNG) of bytes. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface ByteWriter {
  u32(v: number): void;
  i32(v: number): void;
  f64(v: number): void;
  /** A uint32 byte length, then the string as UTF-8, then zero padding to a 4-byte boundary. */
  text(s: string): void;
  f32s(a: Float32Array): void;
  /** Everything written, followed by its CRC-32. */
  finish(): Uint8Array;
}

export function byteWriter(magic: string, version: number): ByteWriter {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const push = (c: Uint8Array) => {
    chunks.push(c);
    length += c.length;
  };
  const scalar = (bytes: number, set: (view: DataView) => void) => {
    const c = new Uint8Array(bytes);
    set(new DataView(c.buffer));
    push(c);
  };
  const w: ByteWriter = {
    u32: (v) => scalar(4, (d) => d.setUint32(0, v, true)),
    i32: (v) => scalar(4, (d) => d.setInt32(0, v, true)),
    f64: (v) => scalar(8, (d) => d.setFloat64(0, v, true)),
    text(s) {
      const utf8 = new TextEncoder().encode(s);
      w.u32(utf8.length);
      push(utf8);
      if (length % 4 !== 0) push(new Uint8Array(4 - (length % 4)));
    },
    f32s(a) {
      const c = new Uint8Array(a.length * 4);
      if (HOST_LITTLE_ENDIAN) c.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      else { const d = new DataView(c.buffer); a.forEach((x, i) => d.setFloat32(i * 4, x, true)); }
      push(c);
    },
    finish() {
      const out = new Uint8Array(length + 4);
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.length;
      }
      new DataView(out.buffer).setUint32(length, crc32(out.subarray(0, length)), true);
      return out;
    },
  };
  push(new TextEncoder().encode(magic));
  w.u32(version);
  return w;
}

export interface ByteReader {
  /** The format version the bytes declare, one of those asked for. */
  version: number;
  u32(field: string): number;
  i32(field: string): number;
  f64(field: string): number;
  text(field: string): string;
  /** n float32 values, copied into a fresh array. */
  f32s(n: number, field: string): Float32Array;
  /** Throws unless every byte before the checksum was read. */
  end(): void;
}

/**
 * Checks magic, version and checksum before anything else, so that arbitrary bytes fail fast with
 * `code`; every later read is bounds-checked. `what` names the format in messages ("model").
 */
/** Reads any of `versions` (oldest first); the reader's `version` says which one the bytes are. */
export function byteReader(
  bytes: Uint8Array, magic: string, versions: readonly number[], code: EngineErrorCode, what: string,
): ByteReader {
  const fail = (field: string | null, message: string) => new EngineError(code, field, message);
  if (!(bytes instanceof Uint8Array)) throw fail(null, `a ${what} must be given as a Uint8Array`);
  const magicBytes = new TextEncoder().encode(magic);
  if (bytes.length < magicBytes.length + 8 || magicBytes.some((b, i) => bytes[i] !== b)) {
    throw fail('magic', `these bytes are not a ${what}: they do not start with "${magic}"`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(magicBytes.length, true);
  if (!versions.includes(found)) {
    throw fail('version', `${what} format version ${found} is not supported; this engine reads version ${versions.join(' or ')}`);
  }
  const end = bytes.length - 4;
  if (crc32(bytes.subarray(0, end)) !== view.getUint32(end, true)) {
    throw fail('checksum', `the ${what} is corrupt: its checksum does not match its contents`);
  }
  let offset = magicBytes.length + 4;
  const take = (n: number, field: string) => {
    if (!(n >= 0) || offset + n > end) {
      throw fail(field, `the ${what} is truncated or malformed: ${field} needs ${n} bytes at offset ${offset}, ${end - offset} remain`);
    }
    const at = offset;
    offset += n;
    return at;
  };
  const r: ByteReader = {
    version: found,
    u32: (field) => view.getUint32(take(4, field), true),
    i32: (field) => view.getInt32(take(4, field), true),
    f64: (field) => view.getFloat64(take(8, field), true),
    text(field) {
      const n = r.u32(field);
      const at = take(n, field);
      if (offset % 4 !== 0) take(4 - (offset % 4), field);
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(at, at + n));
      } catch {
        throw fail(field, `${field} in the ${what} is not valid UTF-8`);
      }
    },
    f32s(n, field) {
      const at = take(n * 4, field);
      const out = new Float32Array(n);
      if (HOST_LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes.subarray(at, at + n * 4));
      else for (let i = 0; i < n; i++) out[i] = view.getFloat32(at + i * 4, true);
      return out;
    },
    end() {
      if (offset !== end) throw fail(null, `the ${what} has ${end - offset} unexpected bytes after its last field`);
    },
  };
  return r;
}
