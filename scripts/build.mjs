// Builds everything `npm start` and the tests need, from source in this repository:
// 1. the WebAssembly SIMD kernels (AssemblyScript → src/engine/kernels/gemm.wasm and gemm-fma.wasm, then copied to dist),
// 2. the TypeScript service (tsc → dist/),
// 3. the dashboard (esbuild → dist/public/).
// Each step is skipped when its outputs are newer than its inputs, so a second build is quick.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);

function newest(path) {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return readdirSync(path).reduce((m, f) => Math.max(m, newest(join(path, f))), s.mtimeMs);
}
const stale = (outputs, inputs) =>
  outputs.some((o) => !existsSync(o)) ||
  Math.min(...outputs.map(newest)) < Math.max(...inputs.map(newest));
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

// 1. WebAssembly kernel
const asmSrc = join(root, 'src/engine/kernels/assembly');
// Two targets of one source: gemm.wasm (SIMD) and gemm-fma.wasm (relaxed SIMD's fused multiply-add).
const wasmTargets = { release: 'gemm.wasm', fma: 'gemm-fma.wasm' };
for (const [target, file] of Object.entries(wasmTargets)) {
  const out = join(root, 'src/engine/kernels', file);
  if (existsSync(join(asmSrc, 'index.ts')) && stale([out], [asmSrc, join(root, 'asconfig.json')])) {
    run(bin('asc'), ['src/engine/kernels/assembly/index.ts', '--config', 'asconfig.json', '--target', target]);
  }
}

// 2. TypeScript
if (stale([join(root, 'dist/server.js')], [join(root, 'src'), join(root, 'tsconfig.json')])) {
  run(bin('tsc'), ['-p', 'tsconfig.json']);
}
for (const file of Object.values(wasmTargets)) {
  const out = join(root, 'src/engine/kernels', file);
  if (existsSync(out)) {
    mkdirSync(join(root, 'dist/engine/kernels'), { recursive: true });
    cpSync(out, join(root, 'dist/engine/kernels', file));
  }
}

// 3. Dashboard
const dashSrc = join(root, 'src/dashboard');
if (existsSync(join(dashSrc, 'main.ts')) && stale([join(root, 'dist/public/app.js')], [dashSrc])) {
  mkdirSync(join(root, 'dist/public'), { recursive: true });
  // esbuild strips types without checking them; the dashboard has its own tsconfig (DOM, bundler).
  run(bin('tsc'), ['-p', 'src/dashboard/tsconfig.json']);
  run(bin('esbuild'), [
    'src/dashboard/main.ts', '--bundle', '--minify', '--format=esm', '--target=es2022',
    '--outfile=dist/public/app.js',
  ]);
}
if (existsSync(dashSrc)) {
  for (const f of readdirSync(dashSrc).filter((f) => /\.(html|css|svg)$/.test(f))) {
    mkdirSync(join(root, 'dist/public'), { recursive: true });
    cpSync(join(dashSrc, f), join(root, 'dist/public', f));
  }
  // The charts' stylesheet, served from here like the rest: the dashboard works offline.
  cpSync(join(root, 'node_modules/uplot/dist/uPlot.min.css'), join(root, 'dist/public/uPlot.min.css'));
}
