// The service's name and version, as package.json states them: one read, for every floor that reports them.
import { readFileSync } from 'node:fs';

export const PACKAGE: { name: string; version: string } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
);
