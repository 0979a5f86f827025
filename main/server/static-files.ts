// Resolves a URL path to a file inside one folder. Anything that would leave the folder (.., encoded separators,
// NUL bytes, symlinks pointing outside) resolves to null.
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

export function mimeType(file: string): string {
  return MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** Decodes a URL pathname into path segments; null when any segment is unsafe. */
export function safeSegments(pathname: string): string[] | null {
  const out: string[] = [];
  for (const raw of pathname.split('/')) {
    if (raw === '') continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (seg === '.' || seg === '..' || seg.includes('/') || seg.includes('\\') || seg.includes('\0')) return null;
    if (seg.length > 255) return null;
    out.push(seg);
  }
  return out;
}

/** The real path of a regular file under `root` named by `segments`, or null. */
export async function resolveInside(root: string, segments: string[]): Promise<string | null> {
  const realRoot = await realpath(root).catch(() => null);
  if (realRoot === null) return null;
  const candidate = path.resolve(realRoot, ...segments);
  if (candidate !== realRoot && !candidate.startsWith(realRoot + path.sep)) return null;
  const real = await realpath(candidate).catch(() => null);
  if (real === null || !real.startsWith(realRoot + path.sep)) return null;
  const st = await stat(real).catch(() => null);
  return st?.isFile() ? real : null;
}
