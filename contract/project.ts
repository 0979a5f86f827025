// Projects: a folder holding a SQLite database of media items, labels, masks, splits, models, runs and history.
import type { MediaInfo, MediaKind } from './media.js';
import type { Suggestion } from './models.js';

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

/** A class and the value its pixels hold in masks (1..255; stable: renaming keeps it, a value is never reused). */
export interface MaskClass {
  value: number;
  name: string;
}

/** How one class of a model's mask suggestion was taken into the project's masks. */
export interface SuggestedMaskClass {
  /** The model card's class name (index + 1 in the model's output). */
  name: string;
  /** The project mask value it became; null: left as background. */
  value: number | null;
  /** True when a project class of that name exists; false when it became the paint value or background. */
  matched: boolean;
}

export interface ProjectSummary {
  dir: string;
  schemaVersion: number;
  items: number;
  labels: number;
  masks: number;
  classes: string[];
  /** Classes that hold a mask value, by value. */
  maskClasses: MaskClass[];
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

/** Library filters: label status, class, split ('none': no split), media kind (volume: DICOM or NIfTI), name search. */
export type LabelStatus = 'all' | 'labeled' | 'unlabeled' | 'predicted';
export type KindFilter = 'all' | 'image' | 'video' | 'volume';
export interface ItemFilter {
  status: LabelStatus;
  className: string | null;
  split: Split | 'none' | null;
  kind: KindFilter;
  /** Case-insensitive substring of the item's path; '' matches every item. */
  search: string;
}

/** An item as the library shows it: with its whole-item class label, if any. */
export type LibraryItem = ProjectItem & { className: string | null };

/** A class-index mask (uint8 per pixel, row-major), bytes as base64. */
export interface MaskData {
  width: number;
  height: number;
  dataBase64: string;
  /** 'deflate': the bytes are zlib-compressed (what the renderer sends: masks compress well); absent: raw. */
  encoding?: 'deflate';
}

export type ReviewState = 'accepted' | 'needs_work';

/** Review state of one image (axis 2, slice 0) or volume slice. */
export interface SliceReview {
  itemId: number;
  axis: number;
  slice: number;
  state: ReviewState;
}

/** A model's prediction for an item, saved by an `infer` job under <project>/suggestions/<model>.json. */
export type ItemSuggestion = Suggestion & { model: string };

export type ExportFormat = 'labels-csv' | 'labels-json' | 'imagefolder' | 'masks-png' | 'masks-nifti' | 'coco';

export interface ProjectApi {
  'project.open': { params: { dir: string }; result: ProjectSummary };
  /** Project folders opened before, most recent first (kept in the app's data folder, so they survive restarts). */
  'project.recent': { params: Record<string, never>; result: string[] };
  'project.items': { params: { dir: string; offset: number; limit: number }; result: ProjectItem[] };
  /** Items matching a filter, a page at a time, with the number matching in all. */
  'project.query': {
    params: { dir: string; filter: ItemFilter; offset: number; limit: number };
    result: { total: number; items: LibraryItem[] };
  };
  /** One item with its whole-item class and the media info probed at import. */
  'project.item': { params: { dir: string; itemId: number }; result: LibraryItem & { info: MediaInfo } };
  /** Ids of every item matching a filter (select all). */
  'project.itemIds': { params: { dir: string; filter: ItemFilter }; result: number[] };
  /** The demo project: its folder in the app's data folder and the shipped sample paths to import into it. */
  'project.demo': { params: Record<string, never>; result: { dir: string; paths: string[] } };
  'project.labels': { params: { dir: string; itemId: number }; result: Label[] };
  /**
   * Writes one dropped file's bytes into <project>/imported/ (a new name if taken) and returns its path, for an
   * import job. For drops without a filesystem path (browser mode); at most 2.5 MiB per file over the WebSocket.
   */
  'project.upload': { params: { dir: string; name: string; dataBase64: string }; result: { path: string } };
  /** Model suggestions for an item from the project's saved inference results (none until an infer job ran). */
  'project.suggestions': { params: { dir: string; itemId: number }; result: ItemSuggestion[] };
  /** One class (or null: none) on the whole of many items; one undoable edit. */
  'project.setLabels': {
    params: { dir: string; itemIds: number[]; className: string | null };
    result: ProjectSummary;
  };
  'project.mask': { params: { dir: string; itemId: number; axis: number; slice: number }; result: MaskData | null };
  /**
   * A saved mask suggestion (suggestions/<model>.json, kind 'mask') of an image or axial volume slice, in the
   * project's mask values: each of the model card's classes becomes the project class of the same name; a class the
   * project lacks becomes `paintValue` (the class being painted; absent: background). Null when that model saved no
   * mask suggestion for the item.
   */
  'project.suggestedMask': {
    params: { dir: string; itemId: number; model: string; axis: number; slice: number; paintValue?: number };
    result: (MaskData & { classes: SuggestedMaskClass[] }) | null;
  };
  /** Stores (null: removes) the mask of an image or volume slice; one undoable edit. */
  'project.setMask': {
    params: { dir: string; itemId: number; axis: number; slice: number; mask: MaskData | null };
    result: ProjectSummary;
  };
  'project.reviews': { params: { dir: string; itemId: number }; result: SliceReview[] };
  /** Marks an image or volume slice accepted or needing work (null: clears it); one undoable edit. */
  'project.setReview': {
    params: { dir: string; itemId: number; axis: number; slice: number; state: ReviewState | null };
    result: ProjectSummary;
  };
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
  /** Creates a class (and its mask value) without labelling anything. */
  'project.addClass': { params: { dir: string; name: string }; result: ProjectSummary };
  /** Renames a class: its labels and its mask value follow (painted masks keep their meaning); one undoable edit. */
  'project.renameClass': { params: { dir: string; from: string; to: string }; result: ProjectSummary };
  /** Deletes a class no label or mask uses (refused otherwise, with what still uses it); one undoable edit. */
  'project.deleteClass': { params: { dir: string; name: string }; result: ProjectSummary };
  'project.undo': { params: { dir: string }; result: ProjectSummary };
  'project.redo': { params: { dir: string }; result: ProjectSummary };
  'project.export': {
    params: { dir: string; format: ExportFormat; out: string };
    result: { out: string; files: number };
  };
}
