// Projects: a folder holding a SQLite database of media items, labels, masks, splits, models, runs and history.
import type { MediaKind } from './media.js';

export type Split = 'train' | 'val' | 'test';

export interface ProjectItem {
  id: number;
  path: string;
  /** sha256 of the file's bytes (of the sorted slice hashes for a DICOM series). */
  hash: string;
  kind: MediaKind;
  format: string;
  width: number;
  height: number;
  frames: number;
  slices: number | null;
  bitDepth: number;
  split: Split | null;
  addedAt: number;
}

/** A class label on a whole item (frameStart = frameEnd = null) or on an inclusive frame range of a video. */
export interface Label {
  itemId: number;
  className: string;
  frameStart: number | null;
  frameEnd: number | null;
}

export interface MaskInfo {
  itemId: number;
  /** Volume axis and slice index; 2 and 0 for a plain image. */
  axis: number;
  slice: number;
  width: number;
  height: number;
}

export interface ProjectSummary {
  dir: string;
  schemaVersion: number;
  items: number;
  labels: number;
  masks: number;
  classes: string[];
  canUndo: boolean;
  canRedo: boolean;
}

// Type aliases (not interfaces) so an ImportResult is a JsonValue (a job result) without a cast.
export type SkippedFile = {
  path: string;
  reason: string;
};

export type ImportResult = {
  imported: number;
  skipped: SkippedFile[];
  items: { path: string; kind: MediaKind; frames: number; slices: number | null }[];
  /** Labels taken from the ImageFolder layout or a CSV file. */
  labelled: number;
};

export type ExportFormat = 'labels-csv' | 'labels-json' | 'imagefolder' | 'masks-png' | 'masks-nifti' | 'coco';

export interface ProjectApi {
  'project.open': { params: { dir: string }; result: ProjectSummary };
  'project.items': { params: { dir: string; offset: number; limit: number }; result: ProjectItem[] };
  'project.labels': { params: { dir: string; itemId: number }; result: Label[] };
  'project.setLabel': {
    params: {
      dir: string;
      itemId: number;
      className: string | null;
      frameStart: number | null;
      frameEnd: number | null;
    };
    result: ProjectSummary;
  };
  'project.undo': { params: { dir: string }; result: ProjectSummary };
  'project.redo': { params: { dir: string }; result: ProjectSummary };
  'project.export': {
    params: { dir: string; format: ExportFormat; out: string };
    result: { out: string; files: number };
  };
}
