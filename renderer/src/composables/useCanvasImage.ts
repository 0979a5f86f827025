// Drawing model inputs and outputs (raw 8-bit samples as base64) on canvases.

export function decodeBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** RGBA pixels of interleaved 8-bit samples with 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) channels. */
export function toRgba(samples: Uint8Array, width: number, height: number, channels: number): ImageData {
  const img = new ImageData(width, height);
  const d = img.data;
  for (let p = 0; p < width * height; p++) {
    const s = p * channels;
    if (channels >= 3) {
      d[p * 4] = samples[s] ?? 0;
      d[p * 4 + 1] = samples[s + 1] ?? 0;
      d[p * 4 + 2] = samples[s + 2] ?? 0;
    } else {
      const g = samples[s] ?? 0;
      d[p * 4] = g;
      d[p * 4 + 1] = g;
      d[p * 4 + 2] = g;
    }
    d[p * 4 + 3] = 255;
  }
  return img;
}

/** Sets the canvas to the image's size and draws it (CSS scales it; image-rendering keeps pixels sharp). */
export function drawImageData(canvas: HTMLCanvasElement | null, img: ImageData): void {
  if (canvas === null) return;
  canvas.width = img.width;
  canvas.height = img.height;
  canvas.getContext('2d')?.putImageData(img, 0, 0);
}
