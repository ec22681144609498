// Our engine on 1 and N threads against PyTorch on one thread, measured side by side and repeated: on
// a shared machine only ratios taken in one run mean anything, and only their spread says how much.
//
//   npm run build && npx tsx bench/threads.ts [--rounds 3] [--batches 32,10] [--threads 2] [--epochs 1]
//                                             [--kernels auto,wasm-simd]
//
// Each round runs, for each batch size, PyTorch (bench/torch_peer.py, one thread), then for each of
// --kernels (default auto) ours on one thread and ours on --threads threads (bench/train.ts --json,
// each in its own process), back to back. Prints every run on stderr, then one JSON line per batch
// size and kernel: samples/s per engine and the ratios per round, with their median, min and max.
// Without torch in /usr/bin/python3 the torch columns are null.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    batches: { type: 'string', default: '32,10' },
    threads: { type: 'string', default: '2' },
    epochs: { type: 'string', default: '1' },
    kernels: { type: 'string', default: 'auto' },
    hidden: { type: 'string', default: '128' },
    data: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
  },
});
const rounds = Number(opts.rounds), threads = Number(opts.threads);
const batches = opts.batches.split(',').map(Number);
const kernels = opts.kernels.split(',');
const here = import.meta.dirname;

function ours(batch: number, t: number, kernel: string): number {
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(here, 'train.ts'), '--json', '--batch', String(batch),
    '--epochs', opts.epochs, '--hidden', opts.hidden, '--data', opts.data, '--threads', String(t), '--kernel', kernel],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return (JSON.parse(out.trim().split('\n').pop()!) as { samplesPerSec: number }).samplesPerSec;
}

function torch(batch: number): number | null {
  try {
    const out = execFileSync('/usr/bin/python3', [join(here, 'torch_peer.py'), '--data', opts.data, '--batch', String(batch),
      '--epochs', opts.epochs, '--hidden', opts.hidden, '--threads', '1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    return (JSON.parse(out.trim().split('\n').pop()!) as { samplesPerSec: number }).samplesPerSec;
  } catch (err) {
    if ((err as { status?: number }).status === 3) return null;
    throw err;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const summary = (xs: number[]) => xs.length === 0 ? null
  : { median: round(median(xs)), min: round(Math.min(...xs)), max: round(Math.max(...xs)), each: xs.map(round) };
const round = (x: number) => Number(x.toFixed(2));

type Run = { torch: number | null; one: number; many: number };
const runs = new Map(batches.flatMap((b) => kernels.map((k) => [`${b} ${k}`, [] as Run[]] as const)));
for (let r = 1; r <= rounds; r++) {
  for (const batch of batches) {
    const t = torch(batch);
    for (const kernel of kernels) {
      const one = ours(batch, 1, kernel), many = ours(batch, threads, kernel);
      runs.get(`${batch} ${kernel}`)!.push({ torch: t, one, many });
      process.stderr.write(`round ${r} batch ${batch} kernel ${kernel}: torch ${t ?? '-'}, ours×1 ${one}, ours×${threads} ${many} samples/s\n`);
    }
  }
}
for (const [key, rs] of runs) {
  const [batch, kernel] = key.split(' ');
  const withTorch = rs.filter((x) => x.torch !== null) as { torch: number; one: number; many: number }[];
  console.log(JSON.stringify({
    batch: Number(batch), kernel, threads, rounds, date: new Date().toISOString(),
    samplesPerSec: { torch1: rs.map((x) => x.torch), ours1: rs.map((x) => x.one), oursN: rs.map((x) => x.many) },
    oursN_over_torch1: summary(withTorch.map((x) => x.many / x.torch)),
    ours1_over_torch1: summary(withTorch.map((x) => x.one / x.torch)),
    oursN_over_ours1: summary(rs.map((x) => x.many / x.one)),
  }));
}
