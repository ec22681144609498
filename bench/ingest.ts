// Ingest benchmark: Fashion-MNIST's training set as one CSV (~133 MB) streamed through parseCsv alone,
// then uploaded to the real server end to end. Prints figures and asserts nothing; --json prints them
// as one JSON line. MB here is 10^6 bytes. Run with `npm run bench:ingest` (builds first).

import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { parseCsv } from '../src/data/csv.js';
import { startServer } from '../test/helpers/server.js';
import { ensureFashionCsv } from './fashion-csv.js';

const json = process.argv.includes('--json');
const say = (line: string): void => {
  if (!json) console.log(line);
};
const MB = 1e6;

/** Peak resident set (VmHWM) of a process, in bytes. */
function peakRss(pid: number | 'self'): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function currentRss(): number {
  return process.memoryUsage().rss;
}

/**
 * CPU seconds (user + system) a process has used. The machine is shared, so wall-clock MB/s swings
 * with other load; MB per CPU-second says what the code itself costs.
 */
function cpuSeconds(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return null;
  }
}

/** Step 2: the file through parseCsv, nothing else. */
async function parserAlone(path: string, bytes: number) {
  // Reset this process's peak RSS (Linux: "5" > clear_refs) so generating the CSV does not count.
  let peakReset = true;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    peakReset = false;
  }
  const rssBefore = currentRss();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const dataset = await parseCsv(createReadStream(path), { target: 'label' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  const peak = peakRss('self');
  return {
    seconds: round(seconds, 3),
    mbPerSecond: round(bytes / MB / seconds, 1),
    cpuSeconds: round(cpuSecs, 3),
    mbPerCpuSecond: round(bytes / MB / cpuSecs, 1),
    rssBeforeMB: round(rssBefore / MB, 1),
    peakRssMB: peak === null ? null : round(peak / MB, 1),
    peakIsForParseOnly: peakReset,
    rows: dataset.rows,
    features: dataset.features,
    xType: dataset.x.constructor.name,
    task: dataset.task,
    classes: dataset.classes?.length ?? null,
  };
}

/**
 * The floor to compare with: the same file through the same stream, each byte seen once by a bare
 * digit loop. On a busy shared machine both figures drop; their ratio says what parsing adds.
 */
async function digitLoop(path: string, bytes: number) {
  const t0 = process.hrtime.bigint();
  let values = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Uint8Array>) {
    let v = 0;
    for (let i = 0; i < chunk.length; i++) {
      const d = chunk[i] - 48;
      if (d >= 0 && d <= 9) v = v * 10 + d;
      else {
        values += v & 1;
        v = 0;
      }
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds: round(seconds, 3), mbPerSecond: round(bytes / MB / seconds, 1), odd: values };
}

function request(options: http.RequestOptions, body?: NodeJS.ReadableStream): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body) body.pipe(req);
    else req.end();
  });
}

/** Step 3: the real server, started here, receiving the file as text/csv. */
async function endToEnd(path: string, bytes: number) {
  const server = await startServer();
  const child = server.proc;
  try {
    const cpu0 = cpuSeconds(child.pid!);
    const t0 = process.hrtime.bigint();
    const res = await request(
      {
        host: '127.0.0.1',
        port: server.port,
        method: 'POST',
        path: '/v1/datasets?name=fashion&target=label',
        headers: { 'content-type': 'text/csv', 'content-length': bytes },
      },
      createReadStream(path),
    );
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu1 = cpuSeconds(child.pid!);
    const serverCpu = cpu0 === null || cpu1 === null ? null : cpu1 - cpu0;
    const peak = peakRss(child.pid!);
    if (res.status !== 201) {
      throw new Error(`POST /v1/datasets answered ${res.status}, expected 201: ${res.text.slice(0, 500)}`);
    }
    return {
      seconds: round(seconds, 3),
      mbPerSecond: round(bytes / MB / seconds, 1),
      serverCpuSeconds: serverCpu === null ? null : round(serverCpu, 2),
      serverMbPerCpuSecond: serverCpu ? round(bytes / MB / serverCpu, 1) : null,
      serverPeakRssMB: peak === null ? null : round(peak / MB, 1),
    };
  } finally {
    await server.stop('SIGTERM');
    server.cleanup();
  }
}

const round = (v: number, digits: number): number => Number(v.toFixed(digits));

const path = await ensureFashionCsv(say);
const bytes = (await stat(path)).size;
say(`CSV: ${path}, ${round(bytes / MB, 1)} MB`);

const parser = await parserAlone(path, bytes);
say(
  `parser alone: ${parser.mbPerSecond} MB/s (${parser.seconds} s, ${parser.rows} rows × ${parser.features} features, ` +
    `x ${parser.xType}), ${parser.mbPerCpuSecond} MB per CPU-second, peak RSS ${parser.peakRssMB} MB ` +
    `(RSS before ${parser.rssBeforeMB} MB)`,
);

const floor = await digitLoop(path, bytes);
say(`bare digit loop over the same stream: ${floor.mbPerSecond} MB/s (the parser takes ${round(parser.seconds / floor.seconds, 2)}× its time)`);

let endToEndResult: Awaited<ReturnType<typeof endToEnd>> | { error: string };
try {
  endToEndResult = await endToEnd(path, bytes);
  say(
    `end to end: ${endToEndResult.mbPerSecond} MB/s (${endToEndResult.seconds} s to the 201), ` +
      `server ${endToEndResult.serverMbPerCpuSecond} MB per CPU-second, peak RSS ${endToEndResult.serverPeakRssMB} MB`,
  );
} catch (err) {
  endToEndResult = { error: (err as Error).message };
  say(`end to end: FAILED — ${endToEndResult.error}`);
  process.exitCode = 1;
}

/** pandas.read_csv on the same file, in the same run, when Debian's python3-pandas is there (else null, quietly). */
function pandas(file: string): { seconds: number; mbPerSecond: number } | null {
  const python = '/usr/bin/python3';
  const script = 'import sys,time,pandas\nt=time.perf_counter()\npandas.read_csv(sys.argv[1])\nprint(time.perf_counter()-t)';
  const r = spawnSync(python, ['-c', script, file], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const seconds = Number(r.stdout.trim());
  return { seconds: round(seconds, 2), mbPerSecond: round(bytes / MB / seconds, 1) };
}
const peer = pandas(path);
if (peer && 'mbPerSecond' in endToEndResult) {
  say(`pandas.read_csv (same file, same run): ${peer.mbPerSecond} MB/s (${peer.seconds} s) → end to end is ${round(endToEndResult.mbPerSecond / peer.mbPerSecond, 2)}× pandas`);
}

if (json) console.log(JSON.stringify({ csvBytes: bytes, parser, digitLoop: floor, endToEnd: endToEndResult, pandas: peer }));
