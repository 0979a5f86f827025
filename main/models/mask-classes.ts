// Segmentation classes of a training run from the project's stored mask values (main/project/store.ts mask_values):
// 2-D (project-data.ts) and 3-D (project-data-3d.ts) loaders name and order the output channels the same way.
import type { ProjectStore } from '../project/store.js';

export interface MaskClassMap {
  /** Output channel names, in channel order. */
  classes: string[];
  /** channelOf[maskValue] = output channel + 1 (0: background / not a class of this run). */
  channelOf: Uint8Array;
}

/**
 * Without `parent`: every painted value (`used`) in value order, named from the project ("class <value>" for a value
 * with no class). With the parent model's classes (fine-tuning): each found by name; a one-class parent with no class
 * of its name takes every painted pixel, other unmatched classes their position.
 */
export function maskClassMap(store: ProjectStore, used: Set<number>, parent?: string[]): MaskClassMap {
  const channelOf = new Uint8Array(256);
  if (parent) {
    const unmatched: number[] = [];
    parent.forEach((name, c) => {
      const v = store.maskValueOf(name);
      if (v !== null) channelOf[v] = c + 1;
      else unmatched.push(c);
    });
    for (const c of unmatched) {
      if (parent.length === 1) for (const v of used) channelOf[v] = 1;
      else if (c + 1 < 256 && channelOf[c + 1] === 0) channelOf[c + 1] = c + 1;
    }
    return { classes: parent, channelOf };
  }
  const names = store.maskValueNames();
  const values = [...used].sort((a, b) => a - b);
  values.forEach((v, c) => (channelOf[v] = c + 1));
  return { classes: values.map((v) => names.get(v) ?? `class ${v}`), channelOf };
}

/** (K, …) one-hot target of a class-index mask through `channelOf`. */
export function oneHot(mask: Uint8Array, map: MaskClassMap): Float32Array {
  const per = mask.length;
  const target = new Float32Array(map.classes.length * per);
  for (let p = 0; p < per; p++) {
    const c = map.channelOf[mask[p] as number] as number;
    if (c !== 0) target[(c - 1) * per + p] = 1;
  }
  return target;
}
