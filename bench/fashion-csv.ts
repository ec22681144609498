// Fashion-MNIST's training set as one CSV (~133 MB, header px0..px783,label), written once from Debian's
// IDX files (apt-get install dataset-fashion-mnist) and cached in .bench-cache/ across runs.
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseIdx } from '../src/data/idx.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const FASHION = '/usr/share/datasets/fashion-mnist';
const CSV = join(root, '.bench-cache', 'fashion-mnist-train.csv');

export async function ensureFashionCsv(say: (line: string) => void = () => {}): Promise<string> {
  if (existsSync(CSV)) return CSV;
  say(`writing ${CSV} from ${FASHION} …`);
  const images = await parseIdx(createReadStream(join(FASHION, 'train-images-idx3-ubyte.gz')), 'images');
  const labels = await parseIdx(createReadStream(join(FASHION, 'train-labels-idx1-ubyte.gz')), 'labels');
  const [rows, h, w] = images.dims;
  const features = h * w;
  await mkdir(dirname(CSV), { recursive: true });
  const partial = `${CSV}.partial`;
  const out = createWriteStream(partial);
  const header = Array.from({ length: features }, (_, i) => `px${i}`).join(',');
  out.write(`${header},label\n`);
  const cells = new Array<number>(features);
  for (let r = 0; r < rows; r += 100) {
    let block = '';
    for (let i = r; i < Math.min(rows, r + 100); i++) {
      for (let f = 0; f < features; f++) cells[f] = images.data[i * features + f];
      block += `${cells.join(',')},${labels.data[i]}\n`;
    }
    if (!out.write(block)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  await rename(partial, CSV);
  return CSV;
}
