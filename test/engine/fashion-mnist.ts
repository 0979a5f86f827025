// Fashion-MNIST from the Debian package `dataset-fashion-mnist` (gzip IDX files), for the training test.
// The test installs the package itself when it runs as root with apt; otherwise it fails with the command.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

const PACKAGE = 'dataset-fashion-mnist';
const DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';
const INSTALL = `apt-get install -y ${PACKAGE}`;

function packageDir(): string | null {
  if (existsSync(path.join(DEFAULT_DIR, 'train-images-idx3-ubyte.gz'))) return DEFAULT_DIR;
  try {
    const files = execFileSync('dpkg', ['-L', PACKAGE], { encoding: 'utf8' }).split('\n');
    const img = files.find((f) => f.endsWith('train-images-idx3-ubyte.gz'));
    return img ? path.dirname(img) : null;
  } catch {
    return null;
  }
}

/** Directory of the IDX files, installing the Debian package when possible. Throws with the exact command. */
export function fashionMnistDir(): string {
  const found = packageDir();
  if (found) return found;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = existsSync('/usr/bin/apt-get');
  if (!isRoot || !hasApt) {
    throw new Error(
      `Fashion-MNIST is not installed and cannot be installed from here (need root and apt-get). Run: sudo ${INSTALL}`,
    );
  }
  try {
    execFileSync('apt-get', ['install', '-y', PACKAGE], { stdio: 'ignore', timeout: 120_000 });
  } catch {
    execFileSync('apt-get', ['update'], { stdio: 'ignore', timeout: 120_000 });
    execFileSync('apt-get', ['install', '-y', PACKAGE], { stdio: 'ignore', timeout: 120_000 });
  }
  const dir = packageDir();
  if (!dir) throw new Error(`'${INSTALL}' ran but the IDX files were not found (dpkg -L ${PACKAGE})`);
  return dir;
}

/** Parses a gzip IDX file: returns dims and the raw uint8 payload. */
export function readIdx(file: string): { dims: number[]; data: Uint8Array } {
  const buf = gunzipSync(readFileSync(file));
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0 || buf[2] !== 0x08) {
    throw new Error(`${file}: not an unsigned-byte IDX file`);
  }
  const rank = buf[3] ?? 0;
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  const offset = 4 + 4 * rank;
  const n = dims.reduce((a, b) => a * b, 1);
  if (buf.length !== offset + n) throw new Error(`${file}: size ${buf.length} does not match dims ${dims.join('x')}`);
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + offset, n) };
}

export interface ImageSet {
  images: Float32Array; // (N, 1, 28, 28), normalised to mean 0, std ~1
  labels: Float32Array; // (N)
  count: number;
}

/** The first `count` images of a split ('train' | 't10k'), starting at `start`. */
export function loadFashionMnist(split: 'train' | 't10k', start: number, count: number): ImageSet {
  const dir = fashionMnistDir();
  const img = readIdx(path.join(dir, `${split}-images-idx3-ubyte.gz`));
  const lab = readIdx(path.join(dir, `${split}-labels-idx1-ubyte.gz`));
  if (img.dims[1] !== 28 || img.dims[2] !== 28) throw new Error(`unexpected image dims ${img.dims.join('x')}`);
  const px = 28 * 28;
  const images = new Float32Array(count * px);
  const labels = new Float32Array(count);
  // Fashion-MNIST pixel mean 0.286, std 0.353 (on [0, 1]).
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < px; j++) images[i * px + j] = ((img.data[(start + i) * px + j] ?? 0) / 255 - 0.286) / 0.353;
    labels[i] = lab.data[start + i] ?? 0;
  }
  return { images, labels, count };
}
