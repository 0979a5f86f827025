// What the app detects in a media file or folder, and the media requests. Types only.

export type MediaKind = 'image' | 'video' | 'dicom' | 'nifti';

/** Pixel storage of decoded data: 8-bit stays 8-bit, 16-bit stays 16-bit, medical data may be signed or float. */
export type SampleType = 'uint8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';

export interface WindowPreset {
  center: number;
  width: number;
  /** The preset's name from the file (WindowCenterWidthExplanation), if any. */
  name: string | null;
}

export interface MediaInfo {
  /** Absolute path of the file, or of the folder for a DICOM series. */
  path: string;
  kind: MediaKind;
  /** Container or file format as detected from its bytes: 'png', 'jpeg', 'mp4', 'dicom', 'nifti', … */
  format: string;
  width: number;
  height: number;
  /** Image pages or GIF frames, video frames; 1 for a still image. */
  frames: number;
  /** Volume slices (DICOM series, multi-frame DICOM, NIfTI); null for images and video. */
  slices: number | null;
  channels: number;
  bitDepth: number;
  sampleType: SampleType;
  /** Video only. */
  fps: number | null;
  durationSeconds: number | null;
  /** Clockwise display rotation in degrees (video metadata; images are already rotated by EXIF orientation). */
  rotation: number;
  /** Voxel or pixel spacing in mm (x, y, z) for medical data, null otherwise. */
  spacing: [number, number, number] | null;
  /** Video only: whether an audio stream is present. */
  hasAudio: boolean;
  /** Video codec, DICOM transfer syntax or NIfTI datatype, for display. */
  codec: string | null;
  windowPresets: WindowPreset[];
}

/** A picture for display: PNG bytes as base64, with its size. */
export interface MediaPicture {
  width: number;
  height: number;
  pngBase64: string;
}

/** Decoded samples of an image page at full resolution (pixel readout, 16-bit window/level), bytes as base64. */
export interface MediaPixels {
  width: number;
  height: number;
  channels: number;
  bitDepth: 8 | 16;
  /** Interleaved samples, rows top to bottom; 16-bit samples little endian. */
  dataBase64: string;
}

/** One voxel of a volume: its raw value and where it is. */
export interface VoxelValue {
  /** Voxel index (x, y, z). */
  voxel: [number, number, number];
  /** The stored value in the volume's units (NIfTI scl_slope/scl_inter, DICOM rescale slope/intercept applied). */
  value: number;
  /** 'HU' for a rescaled CT series; null when the file does not say. */
  unit: string | null;
  /** Position in mm (RAS world coordinates from the NIfTI sform/qform or the DICOM geometry). */
  mm: [number, number, number];
}

export interface MediaApi {
  'media.info': { params: { path: string }; result: MediaInfo };
  /** One video frame (by index) or image page, scaled to fit maxSize × maxSize (never enlarged). */
  'media.frame': { params: { path: string; frame: number; maxSize: number }; result: MediaPicture };
  /** An image page's decoded samples (images only; at most 64 MiB of samples). */
  'media.pixels': { params: { path: string; frame: number }; result: MediaPixels };
  /**
   * One slice of a volume (DICOM file or series folder, NIfTI) perpendicular to `axis` (2: axial XY, 1: XZ, 0: YZ),
   * mapped to 8-bit grey with a window (center/width; null: the file's first preset, else the slice's min–max).
   */
  'media.slice': {
    params: { path: string; axis: 0 | 1 | 2; index: number; window: { center: number; width: number } | null };
    result: MediaPicture & { window: { center: number; width: number } };
  };
  /** The raw value and physical position of one voxel of a grey volume (the viewer's readout). */
  'media.voxel': { params: { path: string; x: number; y: number; z: number }; result: VoxelValue };
}
