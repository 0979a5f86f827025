// Detects a file's format from its first bytes, so a mislabelled file (a .png that is really a JPEG) is caught.
import { open } from 'node:fs/promises';
import path from 'node:path';

export type SniffedFormat =
  | 'png'
  | 'jpeg'
  | 'webp'
  | 'tiff'
  | 'bmp'
  | 'gif'
  | 'mp4'
  | 'mov'
  | 'webm'
  | 'mkv'
  | 'avi'
  | 'dicom'
  | 'nifti'
  | 'nifti-gz'
  | 'gzip'
  | 'csv'
  | 'unknown';

/** Formats each extension may hold. A file whose bytes say otherwise is reported as mislabelled. */
const EXTENSIONS: Record<string, readonly SniffedFormat[]> = {
  '.png': ['png'],
  '.jpg': ['jpeg'],
  '.jpeg': ['jpeg'],
  '.webp': ['webp'],
  '.tif': ['tiff'],
  '.tiff': ['tiff'],
  '.bmp': ['bmp'],
  '.gif': ['gif'],
  '.mp4': ['mp4', 'mov'],
  '.m4v': ['mp4', 'mov'],
  '.mov': ['mov', 'mp4'],
  '.webm': ['webm', 'mkv'],
  '.mkv': ['mkv', 'webm'],
  '.avi': ['avi'],
  '.dcm': ['dicom'],
  '.dicom': ['dicom'],
  '.nii': ['nifti'],
  '.gz': ['nifti-gz', 'gzip'],
  '.csv': ['csv'],
};

export function mediaExtensions(): string[] {
  return Object.keys(EXTENSIONS).filter((e) => e !== '.csv' && e !== '.gz');
}

/** Whether a file name looks like media the app handles (`.nii.gz` included; extensionless files may be DICOM). */
export function hasMediaExtension(file: string): boolean {
  const lower = file.toLowerCase();
  if (lower.endsWith('.nii.gz')) return true;
  const ext = path.extname(lower);
  return ext in EXTENSIONS && ext !== '.csv' && ext !== '.gz';
}

export function expectedFormats(file: string): readonly SniffedFormat[] | null {
  const lower = file.toLowerCase();
  if (lower.endsWith('.nii.gz')) return ['nifti-gz'];
  return EXTENSIONS[path.extname(lower)] ?? null;
}

function ascii(buf: Buffer, start: number, end: number): string {
  return buf.subarray(start, end).toString('latin1');
}

export function sniffBytes(head: Buffer): SniffedFormat {
  // First: a DICOM preamble is free-form and may itself look like TIFF (dual-personality files).
  if (head.length >= 132 && ascii(head, 128, 132) === 'DICM') return 'dicom';
  if (head.length >= 8 && head.readUInt32BE(0) === 0x89504e47 && head.readUInt32BE(4) === 0x0d0a1a0a) return 'png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= 12 && ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return 'webp';
  if (head.length >= 12 && ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'AVI ') return 'avi';
  if (head.length >= 4 && (ascii(head, 0, 4) === 'II*\0' || ascii(head, 0, 4) === 'MM\0*')) return 'tiff';
  if (head.length >= 2 && ascii(head, 0, 2) === 'BM') return 'bmp';
  if (head.length >= 6 && (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a')) return 'gif';
  if (head.length >= 12 && ascii(head, 4, 8) === 'ftyp') return ascii(head, 8, 10) === 'qt' ? 'mov' : 'mp4';
  if (head.length >= 8 && ['moov', 'mdat', 'wide', 'free'].includes(ascii(head, 4, 8))) return 'mov';
  if (head.length >= 4 && head.readUInt32BE(0) === 0x1a45dfa3)
    return head.includes(Buffer.from('webm')) ? 'webm' : 'mkv';
  if (head.length >= 132 && ascii(head, 128, 132) === 'DICM') return 'dicom';
  if (head.length >= 348 && (ascii(head, 344, 348) === 'n+1\0' || ascii(head, 344, 348) === 'ni1\0')) return 'nifti';
  if (head.length >= 4 && (head.readInt32LE(0) === 348 || head.readInt32BE(0) === 348)) return 'nifti';
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (looksLikeRawDicom(head)) return 'dicom';
  return 'unknown';
}

/** DICOM without the 128-byte preamble: starts with a group 0x0008 element in implicit little endian. */
function looksLikeRawDicom(head: Buffer): boolean {
  return head.length >= 8 && head.readUInt16LE(0) === 0x0008 && head.readUInt16LE(2) <= 0x0020;
}

export async function readHead(file: string, bytes = 512): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export async function sniffFile(file: string): Promise<SniffedFormat> {
  const head = await readHead(file);
  const f = sniffBytes(head);
  if (f === 'gzip' && file.toLowerCase().endsWith('.nii.gz')) return 'nifti-gz';
  return f;
}
