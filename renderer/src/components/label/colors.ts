// Per-class colours for chips and mask overlays: the class holding mask value v gets COLORS[(v - 1) % 10] (index
// v - 1 here), so a class keeps its colour when classes are added, renamed or reordered; index -1 is grey.
export const CLASS_COLORS: readonly [number, number, number][] = [
  [230, 57, 70],
  [42, 157, 143],
  [233, 196, 106],
  [69, 123, 157],
  [244, 162, 97],
  [131, 56, 236],
  [58, 134, 255],
  [255, 0, 110],
  [141, 153, 174],
  [106, 153, 78],
];

export function classRgb(index: number): [number, number, number] {
  if (index < 0) return [128, 128, 128];
  return CLASS_COLORS[index % CLASS_COLORS.length] as [number, number, number];
}

export function classColor(index: number): string {
  const [r, g, b] = classRgb(index);
  return `rgb(${r} ${g} ${b})`;
}

/** The colour of a class from its mask value (null: grey). */
export function valueColor(value: number | null): string {
  return classColor(value === null ? -1 : value - 1);
}

/** The key that picks class `index` (1–9, then 0), or '' past the tenth. */
export function classKey(index: number): string {
  if (index < 9) return String(index + 1);
  return index === 9 ? '0' : '';
}
