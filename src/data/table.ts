// Rows to predict, given as CSV with a header of feature names in any order: the columns a model
// expects, put in its order. Unknown columns are refused (a typo in a name would otherwise pass
// unnoticed), and so are missing ones; both are named.
import { DataError } from './errors.js';

/** Splits one CSV record into fields: commas, and double quotes around fields that hold them ("" escapes "). */
function fields(line: string, lineNo: number): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new DataError('invalid_csv', 'malformed', `line ${lineNo}: a quoted field is never closed`, { line: lineNo });
        value += line.slice(i, q);
        if (line[q + 1] === '"') { value += '"'; i = q + 2; continue; }
        i = q + 1;
        break;
      }
      out.push(value);
    } else {
      const comma = line.indexOf(',', i);
      out.push(line.slice(i, comma < 0 ? line.length : comma));
      i = comma < 0 ? line.length : comma;
    }
    if (i >= line.length) return out;
    if (line[i] !== ',') throw new DataError('invalid_csv', 'malformed', `line ${lineNo}: text after a closing quote`, { line: lineNo });
    i++;
  }
}

/** x is rows × featureNames.length, row-major, in the order of featureNames. */
export function parseFeatureTable(text: string, featureNames: string[]): { rows: number; x: Float32Array } {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  if (lines.length === 0) throw new DataError('empty_dataset', 'malformed', 'the CSV body is empty: send a header of feature names and one row per instance');
  const header = fields(lines[0].replace(/^\uFEFF/, ''), 1).map((h) => h.trim());
  const wanted = new Map(featureNames.map((name, j) => [name, j]));
  const unknown = header.filter((h) => !wanted.has(h));
  const missing = featureNames.filter((name) => !header.includes(name));
  const seen = new Set<string>();
  const repeated = header.filter((h) => (seen.has(h) ? true : (seen.add(h), false)));
  if (unknown.length > 0 || missing.length > 0 || repeated.length > 0) {
    const parts = [
      unknown.length > 0 ? `unknown column(s) ${unknown.map((u) => JSON.stringify(u)).join(', ')}` : '',
      missing.length > 0 ? `missing column(s) ${missing.map((m) => JSON.stringify(m)).join(', ')}` : '',
      repeated.length > 0 ? `repeated column(s) ${repeated.map((r) => JSON.stringify(r)).join(', ')}` : '',
    ].filter(Boolean);
    throw new DataError('invalid_columns', 'unusable', `the CSV header does not match the model's features: ${parts.join('; ')}; `
      + `the model takes ${featureNames.join(', ')}`, { unknown, missing, repeated });
  }
  const column = header.map((h) => wanted.get(h)!);
  const rows = lines.length - 1;
  const width = featureNames.length;
  const x = new Float32Array(rows * width);
  for (let i = 0; i < rows; i++) {
    const lineNo = i + 2;
    const cells = fields(lines[i + 1], lineNo);
    if (cells.length !== header.length) {
      throw new DataError('invalid_csv', 'malformed', `line ${lineNo} has ${cells.length} fields; the header has ${header.length}`, { line: lineNo });
    }
    for (let c = 0; c < cells.length; c++) {
      const text = cells[c].trim();
      const v = text === '' ? NaN : Number(text);
      if (!Number.isFinite(v) || !Number.isFinite(Math.fround(v))) {
        throw new DataError('invalid_cell', 'unusable', `line ${lineNo}, column ${JSON.stringify(header[c])}: ${JSON.stringify(cells[c])} is not a finite number within float32 range`,
          { line: lineNo, column: header[c] });
      }
      x[i * width + column[c]] = v;
    }
  }
  return { rows, x };
}
