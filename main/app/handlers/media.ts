import type { MediaApi } from '../../../contract/media.js';
import type { Handler } from '../../ipc/router.js';
import { framePicture, slicePicture } from '../../media/preview.js';
import { probePath } from '../../media/probe.js';

export function mediaHandlers(): { [M in keyof MediaApi]: Handler<M> } {
  return {
    'media.info': async ({ path }) => probePath(path),
    'media.frame': async ({ path, frame, maxSize }) => framePicture(path, frame, maxSize),
    'media.slice': async ({ path, axis, index, window }) => slicePicture(path, axis, index, window),
  };
}
