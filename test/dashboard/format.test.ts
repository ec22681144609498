// The dashboard's number formatting, as people read it in cells and legends: three significant digits,
// an exponent past a million (a diverged loss), a dash for what is missing.
import { describe, expect, it } from 'vitest';
import { legendNumber, num } from '../../src/dashboard/dom.js';

describe('num', () => {
  it('keeps three significant digits and drops trailing zeros', () => {
    expect(num(0.676786)).toBe('0.677');
    expect(num(0.5)).toBe('0.5');
    expect(num(12.3456)).toBe('12.3');
    expect(num(-5.21)).toBe('-5.21');
    expect(num(0)).toBe('0');
  });
  it('groups thousands up to a million, then switches to an exponent', () => {
    expect(num(740501)).toBe('740,501');
    expect(num(1234.5)).toBe('1,235');
    expect(num(1.2345678901234567e45)).toBe('1.23e+45');
    expect(num(1e45)).toBe('1e+45');
    expect(num(3.7e45)).toBe('3.7e+45');
    expect(num(0.00001234)).toBe('1.23e-5');
  });
  it('prints a dash for what is missing or not finite', () => {
    expect(num(null)).toBe('—');
    expect(num(undefined)).toBe('—');
    expect(num(Number.POSITIVE_INFINITY)).toBe('—');
    expect(num(Number.NaN)).toBe('—');
  });
});

describe('legendNumber', () => {
  it('shows four significant digits, with an exponent for huge or tiny values', () => {
    expect(legendNumber(0.51234)).toBe('0.5123');
    expect(legendNumber(3.7037e45)).toBe('3.704e+45');
    expect(legendNumber(null)).toBe('—');
  });
});
