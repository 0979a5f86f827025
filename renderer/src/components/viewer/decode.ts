// Bytes from the bridge (base64) into things a canvas draws. No fetch() of data: URLs: the CSP's connect-src is 'self'.

export function base64Bytes(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i += 1) out[i] = bin.charCodeAt(i);
  return out;
}

export function bytesBase64(bytes: Uint8Array): string {
  let bin = '';
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.length; i += CHUNK) bin += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(bin);
}

export function pngBitmap(b64: string): Promise<ImageBitmap> {
  return createImageBitmap(new Blob([base64Bytes(b64)], { type: 'image/png' }));
}

/** Samples (8- or 16-bit, 1–4 channels) to an RGBA canvas through a window (center/width) applied to every channel. */
export function windowedCanvas(
  samples: Uint8Array | Uint16Array,
  width: number,
  height: number,
  channels: number,
  center: number,
  windowWidth: number,
): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  const img = new ImageData(width, height);
  const d = img.data;
  const lo = center - windowWidth / 2;
  const scale = 255 / Math.max(windowWidth, 1e-6);
  const map = (v: number): number => Math.max(0, Math.min(255, Math.round((v - lo) * scale)));
  const colour = channels >= 3;
  for (let i = 0, n = width * height; i < n; i += 1) {
    const s = i * channels;
    const o = i * 4;
    if (colour) {
      d[o] = map(samples[s] as number);
      d[o + 1] = map(samples[s + 1] as number);
      d[o + 2] = map(samples[s + 2] as number);
    } else {
      const g = map(samples[s] as number);
      d[o] = g;
      d[o + 1] = g;
      d[o + 2] = g;
    }
    d[o + 3] = 255; // alpha is not shown: masks and window/level read the colour samples
  }
  c.getContext('2d')?.putImageData(img, 0, 0);
  return c;
}

/** zlib-deflates bytes (CompressionStream 'deflate' is the zlib format main inflates) and returns them as base64. */
export async function deflateBase64(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate'));
  return bytesBase64(new Uint8Array(await new Response(stream).arrayBuffer()));
}
