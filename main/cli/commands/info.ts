// `ssm-studio info <file|folder> [--json]`: what was detected in a file, in a DICOM series folder (one volume), or in
// any other folder (every media file in it, with the reason for each unreadable one).
import { stat } from 'node:fs/promises';

import type { MediaInfo } from '../../../contract/media.js';
import { probeFolder, probePath, type FolderInfo } from '../../media/probe.js';
import { UsageError, type Command } from '../command.js';

function human(info: MediaInfo): string {
  const lines = [
    `path:      ${info.path}`,
    `kind:      ${info.kind} (${info.format}${info.codec ? `, ${info.codec}` : ''})`,
    `size:      ${info.width} × ${info.height}, ${info.channels} channel(s), ${info.bitDepth}-bit ${info.sampleType}`,
    `frames:    ${info.frames}`,
  ];
  if (info.slices !== null) lines.push(`slices:    ${info.slices}`);
  if (info.fps !== null) lines.push(`fps:       ${info.fps.toFixed(3)} (${info.durationSeconds?.toFixed(2) ?? '?'} s)`);
  if (info.rotation) lines.push(`rotation:  ${info.rotation}°`);
  if (info.spacing) lines.push(`spacing:   ${info.spacing.map((s) => s.toFixed(3)).join(' × ')} mm`);
  if (info.kind === 'video') lines.push(`audio:     ${info.hasAudio ? 'yes' : 'no'}`);
  for (const w of info.windowPresets)
    lines.push(`window:    C ${w.center} / W ${w.width}${w.name ? ` (${w.name})` : ''}`);
  return lines.join('\n') + '\n';
}

function humanFolder(f: FolderInfo): string {
  const lines = [`folder:    ${f.path}`, `items:     ${f.items.length}`];
  for (const i of f.items) {
    const extent = i.slices !== null ? `${i.slices} slices` : `${i.frames} frame(s)`;
    lines.push(`  ${i.kind.padEnd(6)} ${i.width}×${i.height}, ${extent}  ${i.path}`);
  }
  for (const s of f.skipped) lines.push(`  skipped ${s.path}: ${s.reason}`);
  return lines.join('\n') + '\n';
}

export const infoCommand: Command = {
  name: 'info',
  summary: 'show what a media file or DICOM folder holds (kind, size, frames/slices, fps, spacing, bit depth)',
  usage: 'ssm-studio info <file|folder> [--json]',
  options: {},
  async run(args, io) {
    const target = args.positionals[0];
    if (!target || args.positionals.length > 1) throw new UsageError('info takes exactly one path');
    const isDir = (await stat(target).catch(() => null))?.isDirectory() ?? false;
    // A folder that is exactly one DICOM series is one volume; any other folder is listed file by file.
    const folder = isDir ? await probeFolder(target, { validate: true }) : null;
    const single = folder?.items.length === 1 && folder.skipped.length === 0 ? folder.items[0] : undefined;
    const info: MediaInfo | FolderInfo =
      folder === null ? await probePath(target, { validate: true }) : single?.kind === 'dicom' ? single : folder;
    io.stdout.write(
      args.values.json ? `${JSON.stringify(info, null, 2)}\n` : 'items' in info ? humanFolder(info) : human(info),
    );
    return 0;
  },
};
