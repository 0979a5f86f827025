import type { MediaApi } from '../../../contract/media.js';
import type { Handler } from '../../ipc/router.js';
import { probePath } from '../../media/probe.js';

export function mediaHandlers(): { [M in keyof MediaApi]: Handler<M> } {
  return {
    'media.info': async ({ path }) => probePath(path),
  };
}
