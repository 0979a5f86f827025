// A MediaInfo for store tests that add items without probing a file: an 8×6 single-frame 8-bit grey PNG unless
// `over` says otherwise.
import type { MediaInfo } from '../../contract/media.js';

export function mediaInfo(over: Partial<MediaInfo> = {}): MediaInfo {
  return {
    path: '/x',
    kind: 'image',
    format: 'png',
    width: 8,
    height: 6,
    frames: 1,
    slices: null,
    channels: 1,
    bitDepth: 8,
    sampleType: 'uint8',
    fps: null,
    durationSeconds: null,
    rotation: 0,
    spacing: null,
    hasAudio: false,
    codec: null,
    windowPresets: [],
    ...over,
  };
}
