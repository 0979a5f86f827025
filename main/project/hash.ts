// Content hashes for dedupe: sha256 of a file's bytes, streamed (large videos never sit in memory).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export async function hashFile(file: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  const stream = createReadStream(file, { highWaterMark: 1 << 20, signal });
  for await (const chunk of stream as AsyncIterable<Buffer>) h.update(chunk);
  return h.digest('hex');
}

export function hashOfHashes(hashes: string[]): string {
  const h = createHash('sha256');
  for (const x of [...hashes].sort()) h.update(x);
  return h.digest('hex');
}
