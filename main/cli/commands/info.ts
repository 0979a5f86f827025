// `ssm-studio info <file|folder> [--json]`: what was detected in a file or a DICOM series folder.
import type { MediaInfo } from '../../../contract/media.js';
import { probePath } from '../../media/probe.js';
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

export const infoCommand: Command = {
  name: 'info',
  summary: 'show what a media file or DICOM folder holds (kind, size, frames/slices, fps, spacing, bit depth)',
  usage: 'ssm-studio info <file|folder> [--json]',
  options: {},
  async run(args, io) {
    const target = args.positionals[0];
    if (!target || args.positionals.length > 1) throw new UsageError('info takes exactly one path');
    const info = await probePath(target, { validate: true });
    io.stdout.write(args.values.json ? `${JSON.stringify(info, null, 2)}\n` : human(info));
    return 0;
  },
};
