// parseCsv: numbers, quoting, line ends and chunk boundaries, labels and task inference, and every
// kind of bad input giving its code, kind, line and column.

import { describe, expect, it } from 'vitest';
import { parseCsv, type CsvOptions } from '../../src/data/csv.js';
import { DataError } from '../../src/data/errors.js';
import { byteByByte, bytesOf, plain, streamOf, thrown } from './helpers.js';

const parse = (text: string | Uint8Array, options?: CsvOptions, cuts?: number[]) => parseCsv(streamOf(text, cuts), options);

async function dataError(text: string | Uint8Array, options?: CsvOptions): Promise<DataError> {
  const err = await thrown(() => parse(text, options));
  expect(err).toBeInstanceOf(DataError);
  return err as DataError;
}

describe('numbers', () => {
  it('reads every notation: 1, -1.5, +2, .5, 5., 1e-3, 1E+4, -0.25e2, 007', async () => {
    const d = await parse('a,b,c,d,e,f,g,h,i,y\n1,-1.5,+2,.5,5.,1e-3,1E+4,-0.25e2,007,0.5\n0,0,0,0,0,0,0,0,0,1.5\n');
    expect(d.x).toBeInstanceOf(Float32Array);
    expect(Array.from(d.x.subarray(0, 9))).toEqual([1, -1.5, 2, 0.5, 5, Math.fround(1e-3), 1e4, -25, 7]);
    expect(d.task).toBe('regression');
    expect(Array.from(d.targets!)).toEqual([0.5, 1.5]);
  });

  it('rounds long mantissas and large exponents like Number() does, then to float32', async () => {
    const cells = ['3.14159265358979323846', '1.7976931348623157e-300', '123456789012345678', '2.5e-30', '-6.02214076e23'];
    const d = await parse(`${cells.map((_, i) => `c${i}`).join(',')},y\n${cells.join(',')},1\n${cells.map(() => '0').join(',')},2\n`);
    expect(Array.from(d.x.subarray(0, cells.length))).toEqual(cells.map((c) => Math.fround(Number(c))));
  });

  it('ignores spaces and tabs around unquoted numbers and names', async () => {
    const d = await parse(' a , b\t,y\n 1 ,\t2\t, 3 \n4,5,6\n');
    expect(d.featureNames).toEqual(['a', 'b']);
    expect(Array.from(d.x)).toEqual([1, 2, 4, 5]);
    expect(Array.from(d.targets ?? d.labels!)).toHaveLength(2);
  });

  it('stores x as bytes when every value is an integer in 0..255, else as float32', async () => {
    const bytes = await parse('a,b,y\n0,255,1\n17,3,2\n');
    expect(bytes.x).toBeInstanceOf(Uint8Array);
    expect(Array.from(bytes.x)).toEqual([0, 255, 17, 3]);
    for (const odd of ['256', '-1', '1.5', '2e3', '-0.5']) {
      const d = await parse(`a,b,y\n0,255,1\n17,${odd},2\n`);
      expect(d.x).toBeInstanceOf(Float32Array);
      expect(Array.from(d.x)).toEqual([0, 255, 17, Number(odd)]);
    }
  });

  it('widens to float32 late in a long file without losing the bytes read before', async () => {
    const rows = Array.from({ length: 3000 }, (_, r) => `${r % 256},${(r * 7) % 256},${r % 3}`);
    rows[2999] = `0.5,1,${2999 % 3}`;
    const d = await parse(`a,b,y\n${rows.join('\n')}\n`, undefined, [100, 5000, 20000]);
    expect(d.x).toBeInstanceOf(Float32Array);
    expect(d.rows).toBe(3000);
    expect(d.x[2 * 2998]).toBe(2998 % 256);
    expect(d.x[2 * 2998 + 1]).toBe((2998 * 7) % 256);
    expect(d.x[2 * 2999]).toBe(0.5);
  });

  it('computes per-feature population mean and std, 0 for a constant feature', async () => {
    const d = await parse('a,b,c,y\n1,5,0.1,0\n3,5,0.1,1\n5,5,0.1,0\n7,5,0.1,1\n');
    expect(d.mean[0]).toBeCloseTo(4, 6);
    expect(d.std[0]).toBeCloseTo(Math.sqrt(5), 6);
    expect(d.mean[1]).toBe(5);
    expect(d.std[1]).toBe(0);
    expect(d.mean[2]).toBe(Math.fround(0.1));
    expect(d.std[2]).toBe(0);
  });
});

describe('quoting and line ends (RFC 4180)', () => {
  const text =
    '\ufeff"a,1","b ""q""",label\r\n' +
    '"1.5",2,"cat, big"\r\n' +
    '3,"4","multi\r\nline"\r\n' +
    '5,6,"say ""hi"""\r\n' +
    '7,8,"cat, big"';

  it('reads quoted commas, escaped quotes, quoted newlines, CRLF, a BOM and no final newline', async () => {
    const d = await parse(text);
    expect(d.featureNames).toEqual(['a,1', 'b "q"']);
    expect(d.targetName).toBe('label');
    expect(Array.from(d.x)).toEqual([1.5, 2, 3, 4, 5, 6, 7, 8]);
    expect(d.task).toBe('classification');
    expect(d.classes).toEqual(['cat, big', 'multi\r\nline', 'say "hi"']);
    expect(Array.from(d.labels!)).toEqual([0, 1, 2, 0]);
  });

  it('gives the same dataset whatever the chunk boundaries: every cut, and byte by byte', async () => {
    const bytes = bytesOf(text);
    const whole = plain(await parse(bytes));
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(plain(await parse(bytes, undefined, [cut])), `cut at ${cut}`).toEqual(whole);
    }
    for (let cut = 1; cut < bytes.length - 3; cut += 3) {
      expect(plain(await parse(bytes, undefined, [cut, cut + 1, cut + 3])), `cuts at ${cut}`).toEqual(whole);
    }
    expect(plain(await parseCsv(byteByByte(bytes)))).toEqual(whole);
  });

  it('gives the same numeric dataset at every cut (the fast path resumes mid-number)', async () => {
    const numeric = 'x,y,z,t\n12,-3.5e-2,+7.25,1\r\n255,0,.5,0\n1e3,4.,-0,1\r8,9,10,0\n';
    const bytes = bytesOf(numeric);
    const whole = plain(await parse(bytes));
    expect(whole.x).toEqual([12, Math.fround(-0.035), 7.25, 255, 0, 0.5, 1000, 4, -0, 8, 9, 10]);
    expect(whole.rows).toBe(4);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(plain(await parse(bytes, undefined, [cut])), `cut at ${cut}`).toEqual(whole);
    }
    expect(plain(await parseCsv(byteByByte(bytes)))).toEqual(whole);
  });

  it('reports the same line and column whatever the chunk boundaries', async () => {
    for (const [text, details] of [
      ['a,b,y\r\n1,2,0\r\n2,1,"x\r\ny"\r\n3,4,1\r\n5,6\r\n', { line: 6, expected: 3, actual: 2 }],
      ['a,b,y\r\n1,2,0\r\n\r\n3,4.5.6,1\r\n', { line: 4, column: 2, field: 'b', value: '4.5.6' }],
    ] as const) {
      const bytes = bytesOf(text);
      for (let cut = 0; cut < bytes.length; cut++) {
        const err = await thrown(() => parse(bytes, undefined, [cut]));
        expect((err as DataError).details, `cut at ${cut}`).toEqual(details);
      }
    }
  });

  it('accepts LF, CRLF and lone CR line ends, skips blank lines, and a single final newline is optional', async () => {
    const expected = plain(await parse('a,y\n1,0\n2,1\n3,0\n4,1\n'));
    for (const variant of ['a,y\r\n1,0\r\n2,1\r\n3,0\r\n4,1', 'a,y\r1,0\r2,1\r3,0\r4,1\r', 'a,y\n\n1,0\n2,1\r\n\r\n3,0\n4,1\n\n\n']) {
      expect(plain(await parse(variant))).toEqual(expected);
    }
  });

  it('keeps quoted text as written (spaces included) and a quoted empty label is still empty', async () => {
    const d = await parse('a,y\n1," cat "\n2,dog\n3, cat \n');
    expect(d.classes).toEqual([' cat ', 'cat', 'dog']);
    const err = await dataError('a,y\n1,""\n2,b\n');
    expect(err.code).toBe('invalid_cell');
    expect(err.details).toMatchObject({ line: 2, column: 2 });
  });

  it('decodes UTF-8 names and labels, even when a character is split across chunks', async () => {
    const text = 'größe,étiquette\n1,chat noir 🐈\n2,chien\n';
    const bytes = bytesOf(text);
    for (let cut = 1; cut < bytes.length; cut++) {
      const d = await parse(bytes, undefined, [cut]);
      expect(d.featureNames).toEqual(['größe']);
      expect(d.targetName).toBe('étiquette');
      expect(d.classes).toEqual(['chat noir 🐈', 'chien']);
    }
  });

  it('treats __proto__ and constructor as ordinary names and labels', async () => {
    const d = await parse('__proto__,constructor,toString\n1,2,__proto__\n3,4,constructor\n5,6,__proto__\n', {
      target: 'toString',
    });
    expect(d.featureNames).toEqual(['__proto__', 'constructor']);
    expect(d.classes).toEqual(['__proto__', 'constructor']);
    expect(Array.from(d.labels!)).toEqual([0, 1, 0]);
  });
});

describe('target and task', () => {
  it('takes the last column by default, or the named one', async () => {
    const csv = 'a,kind,b\n1,x,2\n3,y,4\n5,x,6\n';
    const named = await parse(csv, { target: 'kind' });
    expect(named.featureNames).toEqual(['a', 'b']);
    expect(named.targetName).toBe('kind');
    expect(Array.from(named.x)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(named.classes).toEqual(['x', 'y']);
    const last = await parse(csv.replace(/x|y/g, '0'));
    expect(last.targetName).toBe('b');
    expect(last.featureNames).toEqual(['a', 'kind']);
  });

  it('reads a target in the first column the same at every chunk boundary', async () => {
    const bytes = bytesOf('y,a,b\r\ncat,1,2.5\r\ndog,255,-4\r\n"cat",0,7');
    const whole = plain(await parse(bytes, { target: 'y' }));
    expect(whole.featureNames).toEqual(['a', 'b']);
    expect(whole.x).toEqual([1, 2.5, 255, -4, 0, 7]);
    expect(whole.classes).toEqual(['cat', 'dog']);
    expect(whole.labels).toEqual([0, 1, 0]);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(plain(await parse(bytes, { target: 'y' }, [cut])), `cut at ${cut}`).toEqual(whole);
    }
  });

  it('text labels → classification with sorted classes and remapped indices', async () => {
    const d = await parse('a,y\n1,zebra\n2,ant\n3,moose\n4,ant\n');
    expect(d.task).toBe('classification');
    expect(d.classes).toEqual(['ant', 'moose', 'zebra']);
    expect(Array.from(d.labels!)).toEqual([2, 0, 1, 0]);
    expect(d.targets).toBeNull();
  });

  it('few distinct integers → classification with numeric classes; "1" and "1.0" are one class', async () => {
    const d = await parse('a,y\n1,3\n2,1\n3,3\n4,1.0\n5,3\n6,1\n');
    expect(d.task).toBe('classification');
    expect(d.classes).toEqual([1, 3]);
    expect(Array.from(d.labels!)).toEqual([1, 0, 1, 0, 1, 0]);
  });

  it('non-integers, or more than 50 distinct, or not fewer than rows/2 distinct → regression', async () => {
    expect((await parse('a,y\n1,0.5\n2,1\n3,0.5\n4,1\n')).task).toBe('regression');
    const many = Array.from({ length: 120 }, (_, i) => `${i},${i % 51}`).join('\n');
    expect((await parse(`a,y\n${many}\n`)).task).toBe('regression');
    const fifty = Array.from({ length: 120 }, (_, i) => `${i},${i % 50}`).join('\n');
    expect((await parse(`a,y\n${fifty}\n`)).task).toBe('classification');
    expect((await parse('a,y\n1,0\n2,1\n3,2\n')).task).toBe('regression');
    expect((await parse('a,y\n1,0\n2,1\n3,2\n4,0\n5,1\n6,2\n')).task).toBe('classification');
  });

  it('task overrides the inference', async () => {
    const reg = await parse('a,y\n1,0\n2,1\n3,0\n4,1\n', { task: 'regression' });
    expect(reg.task).toBe('regression');
    expect(Array.from(reg.targets!)).toEqual([0, 1, 0, 1]);
    expect(reg.labels).toBeNull();
    const cls = await parse('a,y\n1,0.5\n2,1.5\n3,0.5\n', { task: 'classification' });
    expect(cls.classes).toEqual([0.5, 1.5]);
    expect(Array.from(cls.labels!)).toEqual([0, 1, 0]);
  });

  it('regression over text labels is a 422 non_numeric_target', async () => {
    const err = await dataError('a,y\n1,cat\n2,dog\n', { task: 'regression' });
    expect([err.code, err.kind]).toEqual(['non_numeric_target', 'unusable']);
    expect(err.message).toContain('"y"');
  });

  it('a missing target column is a 422 invalid_target that names it', async () => {
    const err = await dataError('a,b\n1,2\n', { target: 'label' });
    expect([err.code, err.kind]).toEqual(['invalid_target', 'unusable']);
    expect(err.message).toContain('"label"');
    expect(err.details).toMatchObject({ target: 'label' });
  });

  it('a single class is a 422 single_class', async () => {
    const err = await dataError('a,y\n1,cat\n2,cat\n3,cat\n');
    expect([err.code, err.kind]).toEqual(['single_class', 'unusable']);
    const numeric = await dataError('a,y\n1,4\n2,4\n3,4\n4,4\n');
    expect(numeric.code).toBe('single_class');
  });

  it('an unknown task is a 400 invalid_task', async () => {
    const err = await dataError('a,y\n1,2\n', { task: 'clustering' as never });
    expect([err.code, err.kind]).toEqual(['invalid_task', 'malformed']);
  });
});

describe('bad input → DataError with code, kind, line and column', () => {
  it('ragged rows name the line and the expected and actual field counts', async () => {
    const short = await dataError('a,b,y\n1,2,0\n3,4\n5,6,1\n');
    expect([short.code, short.kind]).toEqual(['invalid_csv', 'malformed']);
    expect(short.details).toEqual({ line: 3, expected: 3, actual: 2 });
    expect(short.message).toContain('line 3');
    const long = await dataError('a,b,y\n1,2,0\n3,4,1,"x,y",9\n');
    expect(long.details).toEqual({ line: 3, expected: 3, actual: 5 });
    const lastWithoutNewline = await dataError('a,b,y\n1,2,0\n3');
    expect(lastWithoutNewline.details).toEqual({ line: 3, expected: 3, actual: 1 });
  });

  it('counts blank lines and quoted newlines in line numbers (the header is line 1)', async () => {
    const err = await dataError('a,y\n\n1,"two\nlines"\n2,x\n3,oops,extra\n');
    expect(err.details).toMatchObject({ line: 6 });
    const cell = await dataError('a,b,y\r\n1,2,"q\r\nq"\r\n\r\n3,zz,4\r\n');
    expect(cell.details).toEqual({ line: 5, column: 2, field: 'b', value: 'zz' });
  });

  it('an unterminated quote names where the field starts', async () => {
    const err = await dataError('a,y\n1,0\n2,"never closed\n3,1\n');
    expect([err.code, err.kind]).toEqual(['invalid_csv', 'malformed']);
    expect(err.details).toEqual({ line: 3, column: 2 });
    expect(err.message).toMatch(/never closed/);
  });

  it('text after a closing quote is rejected', async () => {
    const err = await dataError('a,y\n"1"x,0\n');
    expect([err.code, err.details]).toEqual(['invalid_csv', { line: 2, column: 1 }]);
  });

  it('non-numeric, empty, NaN, Infinity and inf feature cells are 422 invalid_cell naming line and column', async () => {
    const cases: [string, string][] = [
      ['abc', 'not a number'],
      ['1.2.3', 'not a number'],
      ['0x1A', 'not a number'],
      ['1e', 'not a number'],
      ['--1', 'not a number'],
      ['NaN', 'not finite'],
      ['Infinity', 'not finite'],
      ['-inf', 'not finite'],
      ['inf', 'not finite'],
      ['1e39', 'float32 range'],
      ['"x"', 'not a number'],
    ];
    for (const [cell, why] of cases) {
      const err = await dataError(`a,b,y\n1,2,0\n3,${cell},1\n`);
      expect([err.code, err.kind], cell).toEqual(['invalid_cell', 'unusable']);
      expect(err.details, cell).toMatchObject({ line: 3, column: 2, field: 'b' });
      expect(err.message, cell).toContain(why);
    }
    for (const text of ['a,b,y\n1,,0\n', 'a,b,y\n1,  ,0\n', 'a,b,y\n,1,0\n', 'a,b,y\n1,"",0\n']) {
      const err = await dataError(text);
      expect(err.code, text).toBe('invalid_cell');
      expect(err.message, text).toContain('empty');
      expect(err.details, text).toMatchObject({ line: 2 });
    }
  });

  it('an empty or non-finite label is rejected; a trailing comma leaves the last field empty', async () => {
    expect((await dataError('a,y\n1,\n')).details).toMatchObject({ line: 2, column: 2 });
    expect((await dataError('a,y\n1,NaN\n2,1\n')).code).toBe('invalid_cell');
    expect((await dataError('a,y\n1,1e400\n2,1\n')).message).toContain('float32 range');
    expect((await dataError('a,b,y\n1,2,3,\n')).details).toEqual({ line: 2, expected: 3, actual: 4 });
    expect((await dataError('a,b,y\n1,2,')).details).toMatchObject({ line: 2, column: 3 });
  });

  it('an empty body, blank lines only, and a header without rows are empty_dataset', async () => {
    const empty = await dataError('');
    expect([empty.code, empty.kind]).toEqual(['empty_dataset', 'malformed']);
    expect((await dataError('\n\r\n\n')).code).toBe('empty_dataset');
    expect((await dataError('\ufeff')).code).toBe('empty_dataset');
    const headerOnly = await dataError('a,b,y\n');
    expect([headerOnly.code, headerOnly.kind]).toEqual(['empty_dataset', 'unusable']);
  });

  it('a header must have unique, non-empty names and at least two columns', async () => {
    const dup = await dataError('a,b,a\n1,2,3\n');
    expect([dup.code, dup.kind]).toEqual(['invalid_csv', 'malformed']);
    expect(dup.details).toEqual({ line: 1, column: 3, field: 'a' });
    expect(dup.message).toContain('columns 1 and 3');
    expect((await dataError('a,,y\n1,2,3\n')).details).toEqual({ line: 1, column: 2 });
    const one = await dataError('y\n1\n2\n');
    expect([one.code, one.kind]).toEqual(['no_features', 'unusable']);
  });

  it('invalid UTF-8 in text is rejected', async () => {
    const bytes = new Uint8Array([...bytesOf('a,y\n1,'), 0xff, 0xfe, ...bytesOf('\n')]);
    const err = await dataError(bytes);
    expect(err.code).toBe('invalid_csv');
    expect(err.message).toContain('UTF-8');
  });

  it('enforces maxRows, maxFeatures, maxCells and maxFieldBytes as 413 too_large / 400', async () => {
    const rows = (n: number) => `a,y\n${Array.from({ length: n }, (_, i) => `${i},${i % 2}`).join('\n')}\n`;
    expect((await parse(rows(10), { maxRows: 10 })).rows).toBe(10);
    const tooMany = await dataError(rows(11), { maxRows: 10 });
    expect([tooMany.code, tooMany.kind]).toEqual(['too_large', 'too_large']);
    const wide = await dataError('a,b,c,y\n1,2,3,4\n', { maxFeatures: 2 });
    expect([wide.code, wide.kind]).toEqual(['too_large', 'too_large']);
    expect((await parse('a,b,y\n1,2,3\n4,5,6\n', { maxFeatures: 2, task: 'regression' })).features).toBe(2);
    expect((await dataError(rows(6), { maxCells: 5 })).code).toBe('too_large');
    const longField = await dataError(`a,y\n1,"${'x'.repeat(100)}\n`, { maxFieldBytes: 64 });
    expect([longField.code, longField.kind]).toEqual(['invalid_csv', 'malformed']);
    expect(longField.message).toContain('closing quote');
  });

  it('rejects bad limits up front, naming the option', async () => {
    await expect(parse('a,y\n1,2\n', { maxRows: 0 })).rejects.toThrow(/maxRows/);
    await expect(parse('a,y\n1,2\n', { maxFieldBytes: 1.5 })).rejects.toThrow(/maxFieldBytes/);
  });
});
