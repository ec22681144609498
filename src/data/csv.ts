// Streaming CSV → ParsedDataset. Chunks are scanned as they arrive, never joined: a numeric cell goes
// from bytes to a number without a string in between (the fast path); the header, the target column,
// quoted fields and fields split across chunks take a byte-at-a-time path that follows RFC 4180
// ("" escapes, quoted newlines, CRLF or LF or CR line ends, a UTF-8 BOM, optional final newline).
//
// Accepted numbers: [+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?, with spaces or tabs
// around an unquoted cell ignored. NaN, Infinity, empty cells and anything else are rejected with the
// line (the header is line 1) and column. Blank lines are skipped. The target column (default: the
// last) may hold text; a target whose every value is a number is numeric, see inferTask for the task.

import { checkTask, finishDataset, isFloat32Finite, resolveLimits, type DataLimits, type TargetColumn } from './dataset.js';
import { DataError } from './errors.js';
import type { ParsedDataset, Task } from './types.js';

export interface CsvOptions extends DataLimits {
  /** The label column's header name; default the last column. */
  target?: string;
  task?: Task;
  /** Longest field the slow path will buffer (header names, labels, quoted cells). */
  maxFieldBytes?: number;
}

const CSV_MAX_FIELD_BYTES = 65_536;

const TAB = 9, LF = 10, CR = 13, SPACE = 32, QUOTE = 34, PLUS = 43, COMMA = 44, MINUS = 45, DOT = 46;

// Where a field stands when a chunk ends; only the slow path leaves a field unfinished.
const FIELD_START = 0, UNQUOTED = 1, QUOTED = 2, QUOTED_QUOTE = 3;

// 10^0 … 10^22 are exact doubles, so m·10^e and m/10^e (m < 2^53) round once, correctly (Clinger).
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;
const INITIAL_ROWS = 1024;

/** Everything the scanner carries from one chunk to the next. */
interface Scan {
  mode: number;
  /** A CR ended the last chunk: a LF opening the next one belongs to it. */
  skipLF: boolean;
  line: number;
  recordLine: number;
  fieldLine: number;
  col: number;
  /** Bytes of a field the slow path is still reading. */
  acc: Uint8Array;
  accLen: number;

  inHeader: boolean;
  names: string[];
  ncols: number;
  targetCol: number;
  features: number;

  rows: number;
  /** Next write position in x. */
  k: number;
  /** x as bytes while every value so far is an integer in 0..255, then as float32. */
  u8: Uint8Array | null;
  f32: Float32Array | null;
  labelIds: Int32Array;
  labelIndex: Map<string, number>;
  labelNames: string[];
  /** The numeric value of each distinct label, NaN for text. */
  labelValues: Float64Array;

  target: string | undefined;
  limits: Required<DataLimits>;
  maxFieldBytes: number;
  decoder: TextDecoder;
}

export async function parseCsv(source: AsyncIterable<Uint8Array>, options: CsvOptions = {}): Promise<ParsedDataset> {
  const task = checkTask(options.task);
  const limits = resolveLimits(options);
  const maxFieldBytes = options.maxFieldBytes ?? CSV_MAX_FIELD_BYTES;
  if (!Number.isInteger(maxFieldBytes) || maxFieldBytes < 1) {
    throw new RangeError(`option maxFieldBytes must be a positive integer, got ${String(maxFieldBytes)}`);
  }
  const s: Scan = {
    mode: FIELD_START,
    skipLF: false,
    line: 1,
    recordLine: 1,
    fieldLine: 1,
    col: 0,
    acc: new Uint8Array(256),
    accLen: 0,
    inHeader: true,
    names: [],
    ncols: 0,
    targetCol: -1,
    features: 0,
    rows: 0,
    k: 0,
    u8: null,
    f32: null,
    labelIds: new Int32Array(0),
    labelIndex: new Map(),
    labelNames: [],
    labelValues: new Float64Array(64),
    target: options.target,
    limits,
    maxFieldBytes,
    decoder: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }),
  };

  // The BOM may itself arrive split, so hold the first bytes until there are three to look at.
  let head: Uint8Array | null = new Uint8Array(0);
  let sawBytes = false;
  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    sawBytes = true;
    if (head !== null) {
      head = concatBytes(head, chunk);
      if (head.length < 3) continue;
      const bom = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf;
      scanChunk(s, bom ? head.subarray(3) : head);
      head = null;
      continue;
    }
    scanChunk(s, chunk);
  }
  if (head !== null && head.length > 0) scanChunk(s, head);
  if (!sawBytes) throw new DataError('empty_dataset', 'malformed', 'the CSV body is empty');
  endOfInput(s);

  return finishDataset({
    rows: s.rows,
    features: s.features,
    featureNames: s.names.filter((_, i) => i !== s.targetCol),
    targetName: s.names[s.targetCol],
    x: s.u8 ?? s.f32!,
    target: targetColumn(s),
    task,
    maxClasses: limits.maxClasses,
  });
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function scanChunk(s: Scan, buf: Uint8Array): void {
  const n = buf.length;
  let pos = 0;
  if (n === 0) return;
  if (s.skipLF) {
    s.skipLF = false;
    if (buf[0] === LF) pos = 1;
  }
  while (pos < n) {
    if (s.mode === FIELD_START && !s.inHeader && s.col !== s.targetCol && s.col < s.ncols) {
      pos = scanNumbers(s, buf, pos, n);
      if (pos >= n) break;
    }
    pos = slowField(s, buf, pos, n);
  }
}

/**
 * The fast path: reads numeric feature cells straight from the bytes until a field needs the slow
 * path (the target column, a quote, text, an empty cell, a field cut by the chunk's end) and returns
 * that field's start, untouched.
 */
function scanNumbers(s: Scan, buf: Uint8Array, pos: number, n: number): number {
  let col = s.col;
  let k = s.k;
  let u8 = s.u8;
  let f32 = s.f32;
  const ncols = s.ncols;
  const targetCol = s.targetCol;
  while (pos < n) {
    if (col === targetCol || col >= ncols) break;
    let p = pos;
    let c = buf[p];
    // The commonest cell by far (pixels): up to three digits, at most 255, then a comma.
    if (u8 !== null) {
      let d = c - 48;
      if (d >= 0 && d <= 9) {
        let v = d;
        p++;
        if (p < n) {
          d = buf[p] - 48;
          if (d >= 0 && d <= 9) {
            v = v * 10 + d;
            p++;
            if (p < n) {
              d = buf[p] - 48;
              if (d >= 0 && d <= 9) {
                v = v * 10 + d;
                p++;
              }
            }
          }
        }
        if (p < n && buf[p] === COMMA && v <= 255) {
          u8[k++] = v;
          col++;
          pos = p + 1;
          continue;
        }
        p = pos;
      }
    }
    let neg = false;
    if (c === MINUS) {
      neg = true;
      p++;
    } else if (c === PLUS) p++;
    let m = 0; // the digits as an integer; exact while nd ≤ 15
    let nd = 0;
    let e = 0;
    while (p < n) {
      const d = buf[p] - 48;
      if (d < 0 || d > 9) break;
      m = m * 10 + d;
      nd++;
      p++;
    }
    if (p < n && buf[p] === DOT) {
      p++;
      while (p < n) {
        const d = buf[p] - 48;
        if (d < 0 || d > 9) break;
        m = m * 10 + d;
        nd++;
        e--;
        p++;
      }
    }
    if (nd === 0 || p >= n) break;
    c = buf[p];
    if (c === 101 || c === 69) {
      p++;
      let eneg = false;
      if (p < n && buf[p] === MINUS) {
        eneg = true;
        p++;
      } else if (p < n && buf[p] === PLUS) p++;
      let ev = 0;
      let ed = 0;
      while (p < n) {
        const d = buf[p] - 48;
        if (d < 0 || d > 9) break;
        if (ev < 1e6) ev = ev * 10 + d;
        ed++;
        p++;
      }
      if (ed === 0 || p >= n) break;
      e += eneg ? -ev : ev;
      c = buf[p];
    }
    if (c !== COMMA && c !== LF && c !== CR) break;
    let v: number;
    if (nd <= 15 && e >= -22 && e <= 22) {
      v = e === 0 ? m : e < 0 ? m / POW10[-e] : m * POW10[e];
      if (neg) v = -v;
    } else {
      v = Number(latin1(buf, pos, p));
      if (!isFloat32Finite(v)) break; // let the slow path report it
    }
    if (u8 !== null) {
      if (v >= 0 && v <= 255 && (v | 0) === v) u8[k++] = v;
      else {
        s.k = k;
        f32 = widenToFloat32(s);
        u8 = null;
        f32[k++] = v;
      }
    } else f32![k++] = v;
    if (c === COMMA) {
      col++;
      pos = p + 1;
      continue;
    }
    s.col = col;
    s.k = k;
    pos = afterField(s, buf, p, n);
    col = s.col;
    k = s.k;
    u8 = s.u8;
    f32 = s.f32;
  }
  s.col = col;
  s.k = k;
  return pos;
}

/** Reads one field (or the rest of one) byte by byte; returns where the next field starts. */
function slowField(s: Scan, buf: Uint8Array, pos: number, n: number): number {
  switch (s.mode) {
    case FIELD_START: {
      const c = buf[pos];
      if (s.col === 0 && (c === LF || c === CR)) {
        // A blank line: skipped, but counted so later line numbers match an editor's.
        s.line++;
        s.recordLine = s.line;
        return pastLineEnd(s, buf, pos, n);
      }
      s.fieldLine = s.line;
      s.accLen = 0;
      if (c === QUOTE) {
        s.mode = QUOTED;
        return scanQuoted(s, buf, pos + 1, n);
      }
      const p = findFieldEnd(buf, pos, n);
      if (p < n) {
        finishField(s, buf, pos, p, false);
        return afterField(s, buf, p, n);
      }
      append(s, buf, pos, n);
      s.mode = UNQUOTED;
      return n;
    }
    case UNQUOTED: {
      const p = findFieldEnd(buf, pos, n);
      append(s, buf, pos, p);
      if (p === n) return n;
      s.mode = FIELD_START;
      finishField(s, s.acc, 0, s.accLen, false);
      return afterField(s, buf, p, n);
    }
    case QUOTED:
      return scanQuoted(s, buf, pos, n);
    default: {
      // QUOTED_QUOTE: a quote inside a quoted field is either an escaped "" or the closing quote.
      const c = buf[pos];
      if (c === QUOTE) {
        appendByte(s, QUOTE);
        s.mode = QUOTED;
        return scanQuoted(s, buf, pos + 1, n);
      }
      if (c === COMMA || c === LF || c === CR) {
        s.mode = FIELD_START;
        finishField(s, s.acc, 0, s.accLen, true);
        return afterField(s, buf, pos, n);
      }
      throw new DataError(
        'invalid_csv',
        'malformed',
        `line ${s.line}, column ${s.col + 1}: a closing quote must be followed by a comma or a line end, ` +
          `found ${JSON.stringify(String.fromCharCode(c))} (write a quote inside a quoted field as "")`,
        { line: s.line, column: s.col + 1 },
      );
    }
  }
}

function scanQuoted(s: Scan, buf: Uint8Array, pos: number, n: number): number {
  while (pos < n) {
    let q = buf.indexOf(QUOTE, pos);
    if (q < 0) q = n;
    for (let i = pos; i < q; i++) if (buf[i] === LF) s.line++;
    append(s, buf, pos, q);
    if (q === n) return n;
    if (q + 1 < n && buf[q + 1] === QUOTE) {
      appendByte(s, QUOTE);
      pos = q + 2;
      continue;
    }
    s.mode = QUOTED_QUOTE;
    return q + 1;
  }
  return pos;
}

function findFieldEnd(buf: Uint8Array, pos: number, n: number): number {
  while (pos < n) {
    const c = buf[pos];
    if (c === COMMA || c === LF || c === CR) return pos;
    pos++;
  }
  return n;
}

/** buf[p] ends a field: a comma moves to the next column, a line end finishes the record. */
function afterField(s: Scan, buf: Uint8Array, p: number, n: number): number {
  if (buf[p] === COMMA) {
    s.col++;
    return p + 1;
  }
  endRecord(s);
  return pastLineEnd(s, buf, p, n);
}

/** Steps over the LF, CR or CRLF at p, remembering a CR that ends the chunk. */
function pastLineEnd(s: Scan, buf: Uint8Array, p: number, n: number): number {
  if (buf[p] === CR) {
    if (p + 1 === n) s.skipLF = true;
    else if (buf[p + 1] === LF) return p + 2;
  }
  return p + 1;
}

function append(s: Scan, buf: Uint8Array, start: number, end: number): void {
  const len = end - start;
  if (len === 0) return;
  reserve(s, len);
  s.acc.set(buf.subarray(start, end), s.accLen);
  s.accLen += len;
}

function appendByte(s: Scan, byte: number): void {
  reserve(s, 1);
  s.acc[s.accLen++] = byte;
}

function reserve(s: Scan, more: number): void {
  const need = s.accLen + more;
  if (need > s.maxFieldBytes) {
    const hint = s.mode === QUOTED || s.mode === QUOTED_QUOTE ? ' — is a closing quote missing?' : '';
    throw new DataError(
      'invalid_csv',
      'malformed',
      `line ${s.fieldLine}, column ${s.col + 1}: the field is longer than ${s.maxFieldBytes} bytes${hint}`,
      { line: s.fieldLine, column: s.col + 1 },
    );
  }
  if (need <= s.acc.length) return;
  const grown = new Uint8Array(Math.min(Math.max(need, s.acc.length * 2), s.maxFieldBytes));
  grown.set(s.acc.subarray(0, s.accLen));
  s.acc = grown;
}

const isBlank = (c: number): boolean => c === SPACE || c === TAB;

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let text = '';
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]);
  return text;
}

function decodeText(s: Scan, bytes: Uint8Array, start: number, end: number): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (bytes[i] >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii && end - start <= 64) return latin1(bytes, start, end);
  try {
    return s.decoder.decode(bytes.subarray(start, end));
  } catch {
    throw new DataError('invalid_csv', 'malformed', `line ${s.fieldLine}, column ${s.col + 1}: the text is not valid UTF-8`, {
      line: s.fieldLine,
      column: s.col + 1,
    });
  }
}

/**
 * Parses a whole cell by the grammar in the header comment; NaN when it does not match. Spaces and
 * tabs around the number are ignored.
 */
function parseNumberBytes(bytes: Uint8Array, start: number, end: number): number {
  while (start < end && isBlank(bytes[start])) start++;
  while (end > start && isBlank(bytes[end - 1])) end--;
  if (start === end) return NaN;
  let p = start;
  const neg = bytes[p] === MINUS;
  if (neg || bytes[p] === PLUS) p++;
  let m = 0;
  let nd = 0;
  let e = 0;
  while (p < end && bytes[p] >= 48 && bytes[p] <= 57) {
    m = m * 10 + (bytes[p++] - 48);
    nd++;
  }
  if (p < end && bytes[p] === DOT) {
    p++;
    while (p < end && bytes[p] >= 48 && bytes[p] <= 57) {
      m = m * 10 + (bytes[p++] - 48);
      nd++;
      e--;
    }
  }
  if (nd === 0) return NaN;
  if (p < end && (bytes[p] === 101 || bytes[p] === 69)) {
    p++;
    let eneg = false;
    if (p < end && (bytes[p] === MINUS || bytes[p] === PLUS)) eneg = bytes[p++] === MINUS;
    let ev = 0;
    let ed = 0;
    while (p < end && bytes[p] >= 48 && bytes[p] <= 57) {
      if (ev < 1e6) ev = ev * 10 + (bytes[p] - 48);
      ed++;
      p++;
    }
    if (ed === 0) return NaN;
    e += eneg ? -ev : ev;
  }
  if (p !== end) return NaN;
  if (nd <= 15 && e >= -22 && e <= 22) {
    const v = e === 0 ? m : e < 0 ? m / POW10[-e] : m * POW10[e];
    return neg ? -v : v;
  }
  return Number(latin1(bytes, start, end));
}

/** parseNumberBytes for a string: the same grammar, so CSV labels and cells agree on what a number is. */
function parseNumberText(text: string): number {
  return /^[ \t]*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[ \t]*$/.test(text) ? Number(text) : NaN;
}

/** A complete field: a header name, a label, or a feature value. */
function finishField(s: Scan, bytes: Uint8Array, start: number, end: number, quoted: boolean): void {
  if (s.inHeader) {
    if (s.names.length > s.limits.maxFeatures) {
      throw new DataError('too_large', 'too_large', `the CSV header has more than ${s.limits.maxFeatures + 1} columns, the limit`, {
        maxFeatures: s.limits.maxFeatures,
      });
    }
    if (!quoted) [start, end] = trimBlanks(bytes, start, end);
    s.names.push(decodeText(s, bytes, start, end));
    return;
  }
  const col = s.col;
  if (col >= s.ncols) return; // an extra field: endRecord reports the row as ragged
  if (col === s.targetCol) {
    if (!quoted) [start, end] = trimBlanks(bytes, start, end);
    addLabel(s, decodeText(s, bytes, start, end));
    return;
  }
  const v = parseNumberBytes(bytes, start, end);
  if (Number.isNaN(v) || !isFloat32Finite(v)) throw badCell(s, bytes, start, end, v);
  storeValue(s, v);
}

function trimBlanks(bytes: Uint8Array, start: number, end: number): [number, number] {
  while (start < end && isBlank(bytes[start])) start++;
  while (end > start && isBlank(bytes[end - 1])) end--;
  return [start, end];
}

function badCell(s: Scan, bytes: Uint8Array, start: number, end: number, v: number): DataError {
  [start, end] = trimBlanks(bytes, start, end);
  const column = s.col + 1;
  const name = s.names[s.col];
  const where = `line ${s.fieldLine}, column ${column} (${JSON.stringify(name)})`;
  const details = { line: s.fieldLine, column, field: name };
  if (start === end) return new DataError('invalid_cell', 'unusable', `${where} is empty; every feature needs a number`, details);
  let text = decodeText(s, bytes, start, Math.min(end, start + 40));
  if (end - start > 40) text += '…';
  const why = !Number.isNaN(v)
    ? 'is outside the float32 range'
    : NON_FINITE.test(text)
      ? 'is not finite; only finite numbers are allowed'
      : 'is not a number';
  return new DataError('invalid_cell', 'unusable', `${where}: ${JSON.stringify(text)} ${why}`, { ...details, value: text });
}

function addLabel(s: Scan, text: string): void {
  const where = { line: s.fieldLine, column: s.col + 1, field: s.names[s.col] };
  if (text === '') {
    throw new DataError('invalid_cell', 'unusable', `line ${where.line}, column ${where.column} (${JSON.stringify(where.field)}): the target is empty`, where);
  }
  let id = s.labelIndex.get(text);
  if (id === undefined) {
    if (NON_FINITE.test(text)) {
      throw new DataError(
        'invalid_cell',
        'unusable',
        `line ${where.line}, column ${where.column} (${JSON.stringify(where.field)}): ${JSON.stringify(text)} is not finite; only finite numbers are allowed`,
        { ...where, value: text },
      );
    }
    const v = parseNumberText(text);
    if (!Number.isNaN(v) && !isFloat32Finite(v)) {
      throw new DataError(
        'invalid_cell',
        'unusable',
        `line ${where.line}, column ${where.column} (${JSON.stringify(where.field)}): ${JSON.stringify(text)} is outside the float32 range`,
        { ...where, value: text },
      );
    }
    id = s.labelNames.length;
    s.labelIndex.set(text, id);
    s.labelNames.push(text);
    if (id === s.labelValues.length) {
      const grown = new Float64Array(id * 2);
      grown.set(s.labelValues);
      s.labelValues = grown;
    }
    s.labelValues[id] = v;
  }
  s.labelIds[s.rows] = id;
}

function storeValue(s: Scan, v: number): void {
  if (s.u8 !== null) {
    if (v >= 0 && v <= 255 && (v | 0) === v) {
      s.u8[s.k++] = v;
      return;
    }
    widenToFloat32(s);
  }
  s.f32![s.k++] = v;
}

/** The first value that is not a byte: copy x so far into a float32 buffer of the same capacity. */
function widenToFloat32(s: Scan): Float32Array {
  const u8 = s.u8!;
  const f32 = new Float32Array(u8.length);
  f32.set(u8.subarray(0, s.k));
  s.u8 = null;
  s.f32 = f32;
  return f32;
}

function endRecord(s: Scan): void {
  if (s.inHeader) finishHeader(s);
  else {
    if (s.col !== s.ncols - 1) {
      const actual = s.col + 1;
      throw new DataError(
        'invalid_csv',
        'malformed',
        `line ${s.recordLine} has ${actual} field${actual === 1 ? '' : 's'}, expected ${s.ncols} like the header`,
        { line: s.recordLine, expected: s.ncols, actual },
      );
    }
    const { maxRows, maxCells } = s.limits;
    if (s.rows === maxRows) {
      throw new DataError('too_large', 'too_large', `the CSV has more than ${maxRows} rows, the limit`, { maxRows });
    }
    s.rows++;
    if (s.rows * s.features > maxCells) {
      throw new DataError('too_large', 'too_large', `the CSV has more than ${maxCells} cells (rows × features), the limit`, {
        maxCells,
      });
    }
    reserveRow(s);
  }
  s.col = 0;
  s.line++;
  s.recordLine = s.line;
}

/** Room in x and the labels for the row about to be read, doubling up to the cell limit. */
function reserveRow(s: Scan): void {
  const cells = (s.rows + 1) * s.features;
  if (s.rows === s.labelIds.length) {
    const ids = new Int32Array(Math.max(INITIAL_ROWS, s.labelIds.length * 2));
    ids.set(s.labelIds);
    s.labelIds = ids;
  }
  const x = s.u8 ?? s.f32!;
  if (cells > x.length) {
    const capacity = Math.max(cells, Math.min(x.length * 2, s.limits.maxCells));
    if (s.u8 !== null) {
      const u8 = new Uint8Array(capacity);
      u8.set(s.u8.subarray(0, s.k));
      s.u8 = u8;
    } else {
      const f32 = new Float32Array(capacity);
      f32.set(s.f32!.subarray(0, s.k));
      s.f32 = f32;
    }
  }
}

function finishHeader(s: Scan): void {
  const names = s.names;
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    if (name === '') {
      throw new DataError('invalid_csv', 'malformed', `line ${s.recordLine}: column ${i + 1} of the header has no name`, {
        line: s.recordLine,
        column: i + 1,
      });
    }
    const first = seen.get(name);
    if (first !== undefined) {
      throw new DataError(
        'invalid_csv',
        'malformed',
        `line ${s.recordLine}: columns ${first + 1} and ${i + 1} are both named ${JSON.stringify(name)}; header names must be unique`,
        { line: s.recordLine, column: i + 1, field: name },
      );
    }
    seen.set(name, i);
  });
  if (names.length < 2) {
    throw new DataError('no_features', 'unusable', 'the CSV needs at least two columns: one or more features and the target', {
      columns: names.length,
    });
  }
  const targetCol = s.target === undefined ? names.length - 1 : (seen.get(s.target) ?? -1);
  if (targetCol < 0) {
    throw new DataError(
      'invalid_target',
      'unusable',
      `target ${JSON.stringify(s.target)} is not a column of the CSV; the header has ${names
        .slice(0, 10)
        .map((name) => JSON.stringify(name))
        .join(', ')}${names.length > 10 ? ', …' : ''}`,
      { field: 'target', target: s.target },
    );
  }
  const features = names.length - 1;
  if (features > s.limits.maxFeatures) {
    throw new DataError('too_large', 'too_large', `the CSV has ${features} feature columns, more than the limit of ${s.limits.maxFeatures}`, {
      maxFeatures: s.limits.maxFeatures,
    });
  }
  s.inHeader = false;
  s.ncols = names.length;
  s.targetCol = targetCol;
  s.features = features;
  s.u8 = new Uint8Array(Math.max(features, Math.min(features * INITIAL_ROWS, s.limits.maxCells)));
  reserveRow(s);
}

/** The body ended: finish a last record that has no line end, and report what is missing. */
function endOfInput(s: Scan): void {
  if (s.mode === QUOTED) {
    throw new DataError('invalid_csv', 'malformed', `line ${s.fieldLine}, column ${s.col + 1}: a quoted field is never closed`, {
      line: s.fieldLine,
      column: s.col + 1,
    });
  }
  if (s.mode !== FIELD_START) {
    finishField(s, s.acc, 0, s.accLen, s.mode === QUOTED_QUOTE);
    s.mode = FIELD_START;
    endRecord(s);
  } else if (s.col > 0) {
    // "…,\n"-less ending after a comma: the last field is empty.
    s.fieldLine = s.line;
    finishField(s, s.acc, 0, 0, false);
    endRecord(s);
  }
  if (s.inHeader) throw new DataError('empty_dataset', 'malformed', 'the CSV has no header row');
  if (s.rows === 0) throw new DataError('empty_dataset', 'unusable', 'the CSV has a header but no data rows');
}

/** Labels that are all numbers become a numeric target; any text makes them class names. */
function targetColumn(s: Scan): TargetColumn {
  const ids = s.labelIds.subarray(0, s.rows);
  const distinct = s.labelNames.length;
  for (let i = 0; i < distinct; i++) {
    if (Number.isNaN(s.labelValues[i])) return { kind: 'strings', ids, names: s.labelNames };
  }
  const values = new Float64Array(s.rows);
  for (let r = 0; r < s.rows; r++) values[r] = s.labelValues[ids[r]];
  return { kind: 'numbers', values };
}
