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

/**
 * The colour of class index `index`: the ten above, then hues 137.5° apart (the golden angle) so that an 11th or
 * later class does not repeat an earlier colour.
 */
export function classRgb(index: number): [number, number, number] {
  if (index < 0) return [128, 128, 128];
  const fixed = CLASS_COLORS[index];
  if (fixed) return fixed;
  return hslRgb((index * 137.508) % 360, 0.65, 0.5);
}

function hslRgb(h: number, s: number, l: number): [number, number, number] {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number): number => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
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
