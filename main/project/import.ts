// Imports files and folders into a project: detects and validates each file, dedupes by content hash, takes labels
// from an ImageFolder layout (root/<class>/file, root/<split>/<class>/file) and from labels CSV files.
// A file that cannot be read is listed with the reason and skipped; each item is written in its own transaction.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import type { MediaInfo, MediaKind } from '../../contract/media.js';
import type { ImportResult, SkippedFile, Split } from '../../contract/project.js';
import { AppError } from '../ipc/app-error.js';
import { assembleSeries, readDicomHeader, readDicomVolume, type DicomHeader } from '../media/dicom.js';
import { dicomInfo, probeFile } from '../media/probe.js';
import { hasMediaExtension, sniffFile } from '../media/sniff.js';
import { readLabelsCsv } from './csv.js';
import { hashFile, hashOfHashes } from './hash.js';
import type { ProjectStore } from './store.js';

export interface ImportContext {
  signal: AbortSignal;
  progress(done: number, total: number, message: string): void;
}

interface Candidate {
  file: string;
  /** The folder the user named, when the file was found by walking it (for the ImageFolder layout). */
  root: string | null;
}

const SPLITS: Record<string, Split> = {
  train: 'train',
  training: 'train',
  val: 'val',
  valid: 'val',
  validation: 'val',
  test: 'test',
};

function reasonOf(err: unknown): string {
  if (err instanceof AppError) return err.message;
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.message;
  return String(err);
}

async function walk(dir: string, signal: AbortSignal, out: Candidate[], csvs: string[], root: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    signal.throwIfAborted();
    if (e.name.startsWith('.')) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) await walk(full, signal, out, csvs, root);
    else if (!e.isFile()) continue;
    else if (e.name.toLowerCase().endsWith('.csv')) csvs.push(full);
    else if (hasMediaExtension(e.name) || path.extname(e.name) === '') out.push({ file: full, root });
  }
}

/**
 * Class and split from the ImageFolder layout, relative to the folder the user named: root/<class>/file or
 * root/<split>/<class>/file (split: train, val/valid/validation, test). Deeper files get no label, so importing a
 * parent folder does not turn arbitrary folder names into classes.
 */
function layoutLabel(c: Candidate, kind: MediaKind): { className: string | null; split: Split | null } {
  const none = { className: null, split: null };
  if (!c.root || (kind !== 'image' && kind !== 'video')) return none;
  const parts = path.relative(c.root, c.file).split(path.sep);
  if (parts.length === 2 && !SPLITS[(parts[0] as string).toLowerCase()])
    return { className: parts[0] as string, split: null };
  const split = parts.length === 3 ? SPLITS[(parts[0] as string).toLowerCase()] : undefined;
  if (split) return { className: parts[1] as string, split };
  return none;
}

export async function importPaths(store: ProjectStore, inputs: string[], ctx: ImportContext): Promise<ImportResult> {
  const skipped: SkippedFile[] = [];
  const items: ImportResult['items'] = [];
  const candidates: Candidate[] = [];
  const csvs: string[] = [];
  for (const input of inputs) {
    const p = path.resolve(input);
    const st = await stat(p).catch(() => null);
    if (!st) skipped.push({ path: p, reason: 'not found' });
    else if (st.isDirectory()) await walk(p, ctx.signal, candidates, csvs, p);
    else if (p.toLowerCase().endsWith('.csv')) csvs.push(p);
    else candidates.push({ file: p, root: null });
  }

  // DICOM slices become one item per series; everything else is one item per file.
  const dicomHeaders: DicomHeader[] = [];
  const others: Candidate[] = [];
  for (const c of candidates) {
    const fmt = await sniffFile(c.file).catch(() => 'unknown');
    const ext = path.extname(c.file).toLowerCase();
    if (fmt === 'dicom' && (ext === '.dcm' || ext === '.dicom' || ext === '')) {
      try {
        dicomHeaders.push(await readDicomHeader(c.file));
      } catch (err) {
        skipped.push({ path: c.file, reason: reasonOf(err) });
      }
    } else if (ext === '' && fmt === 'unknown' && c.root) {
      continue; // an extensionless file in a folder that is not DICOM: not media, not worth a warning
    } else others.push(c);
  }
  let series: ReturnType<typeof assembleSeries> = [];
  try {
    series = assembleSeries(dicomHeaders);
  } catch (err) {
    for (const h of dicomHeaders) skipped.push({ path: h.file, reason: reasonOf(err) });
  }

  const total = others.length + series.length;
  let done = 0;
  let labelled = 0;
  const add = (
    where: string,
    hash: string,
    info: MediaInfo,
    label: { className: string | null; split: Split | null },
  ): void => {
    const { item, added } = store.addItem({ path: where, hash, info }, label);
    if (!added) {
      skipped.push({ path: where, reason: `duplicate of ${item.path} (same content)` });
      return;
    }
    if (label.className) labelled += 1;
    items.push({ path: where, kind: info.kind, frames: info.frames, slices: info.slices });
  };

  for (const c of others) {
    ctx.signal.throwIfAborted();
    ctx.progress(done, total, path.basename(c.file));
    try {
      const info = await probeFile(c.file, { validate: true, signal: ctx.signal });
      const hash = await hashFile(c.file, ctx.signal);
      add(c.file, hash, info, layoutLabel(c, info.kind));
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      skipped.push({ path: c.file, reason: reasonOf(err) });
    }
    done += 1;
  }
  for (const s of series) {
    ctx.signal.throwIfAborted();
    const dirs = new Set(s.files.map((f) => path.dirname(f)));
    const where = s.files.length > 1 && dirs.size === 1 ? ([...dirs][0] as string) : (s.files[0] as string);
    ctx.progress(done, total, `DICOM series of ${s.files.length} files`);
    try {
      await readDicomVolume(s);
      const hashes: string[] = [];
      for (const f of s.files) hashes.push(await hashFile(f, ctx.signal));
      add(where, hashOfHashes(hashes), dicomInfo(where, s), { className: null, split: null });
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      skipped.push({ path: where, reason: reasonOf(err) });
    }
    done += 1;
  }

  for (const csv of csvs) labelled += await applyLabelsCsv(store, csv, skipped);
  ctx.progress(total, total, `imported ${items.length}`);
  return { imported: items.length, skipped, items, labelled };
}

/** Applies a labels CSV: rows match items by absolute path, path relative to the CSV, or file name. One transaction. */
async function applyLabelsCsv(store: ProjectStore, csv: string, skipped: SkippedFile[]): Promise<number> {
  let rows: { path: string; label: string }[] | null;
  try {
    rows = readLabelsCsv(await readFile(csv, 'utf8'));
  } catch (err) {
    skipped.push({ path: csv, reason: `unreadable CSV: ${reasonOf(err)}` });
    return 0;
  }
  if (!rows) {
    skipped.push({ path: csv, reason: 'CSV has no path/file column and label/class column in its header' });
    return 0;
  }
  const all = store.items(0, Number.MAX_SAFE_INTEGER);
  const byPath = new Map(all.map((i) => [i.path, i.id]));
  const byName = new Map<string, number | null>();
  for (const i of all) {
    const name = path.basename(i.path);
    byName.set(name, byName.has(name) ? null : i.id); // ambiguous names match nothing
  }
  const edits = rows.flatMap((r) => {
    const id = byPath.get(path.resolve(path.dirname(csv), r.path)) ?? byName.get(path.basename(r.path)) ?? null;
    return id === null ? [] : [{ itemId: id, className: r.label, frameStart: null, frameEnd: null }];
  });
  const unmatched = rows.length - edits.length;
  if (unmatched > 0)
    skipped.push({ path: csv, reason: `${unmatched} of ${rows.length} CSV rows match no imported item` });
  if (edits.length > 0) store.setLabels(edits, 'import-csv');
  return edits.length;
}
