import type { LibraryItem, MediaInfo } from '../../../../contract/index.js';
import type { StageTool } from './ViewerStage.vue';

export type ViewerItem = LibraryItem & { info: MediaInfo };

/** The picture a mask belongs to: an image (axis 2, slice 0) or a volume slice, with its size in pixels. */
export interface MaskPlane {
  axis: number;
  slice: number;
  width: number;
  height: number;
}

/** What every viewer takes from the label view for mask painting. */
export interface PaintProps {
  mask: Uint8Array | null;
  maskVersion: number;
  tool: StageTool;
  brushSize: number;
  paintValue: number;
  opacity: number;
}
