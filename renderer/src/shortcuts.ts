// Every keyboard shortcut, grouped for the help overlay. The handlers live with their views; this is what users read.
export interface ShortcutGroup {
  title: string;
  rows: { keys: string[][]; action: string }[];
}

export const SHORTCUTS: readonly ShortcutGroup[] = [
  {
    title: 'Everywhere',
    rows: [
      { keys: [['?']], action: 'Show or hide this help' },
      { keys: [['Ctrl', 'Z']], action: 'Undo the last labeling edit (class, mask, review)' },
      {
        keys: [
          ['Ctrl', 'Shift', 'Z'],
          ['Ctrl', 'Y'],
        ],
        action: 'Redo',
      },
      { keys: [['Tab'], ['Shift', 'Tab']], action: 'Move between controls' },
    ],
  },
  {
    title: 'Library',
    rows: [
      { keys: [['/']], action: 'Search by name' },
      { keys: [['←'], ['→'], ['↑'], ['↓']], action: 'Move in the grid (Shift extends the selection)' },
      { keys: [['Space']], action: 'Select or unselect the focused item' },
      { keys: [['Ctrl', 'A']], action: 'Select all items matching the filters' },
      { keys: [['Esc']], action: 'Clear the selection' },
      { keys: [['Enter']], action: 'Open the focused item for labeling' },
      { keys: [['1'], ['…'], ['9'], ['0']], action: 'Assign class 1–10 to every selected item' },
      { keys: [['Backspace']], action: 'Remove the class from the selected items' },
    ],
  },
  {
    title: 'Label',
    rows: [
      { keys: [['1'], ['…'], ['9'], ['0']], action: 'Assign class 1–10 to this item' },
      { keys: [['Shift', '1…0']], action: 'Pick the mask class' },
      { keys: [['n'], ['p']], action: 'Next / previous item' },
      { keys: [['s']], action: 'Accept the top model suggestion' },
      { keys: [['m']], action: 'Accept the suggested mask into the mask (as the current class)' },
      { keys: [['h'], ['b'], ['e'], ['l']], action: 'Pan, brush, eraser, fill' },
      { keys: [['['], [']']], action: 'Smaller / bigger brush' },
      { keys: [['a'], ['w']], action: 'Mark this image or slice accepted / needing work' },
      { keys: [['+'], ['-'], ['f']], action: 'Zoom in, zoom out, fit' },
    ],
  },
  {
    title: 'Video and volume',
    rows: [
      { keys: [['Space'], ['k']], action: 'Play or pause' },
      { keys: [[','], ['.']], action: 'Previous / next frame (also ← →)' },
      { keys: [['↑'], ['↓']], action: 'Next / previous slice' },
      { keys: [['z'], ['y'], ['x']], action: 'Axial, coronal, sagittal slices' },
      { keys: [['i'], ['o']], action: 'Mark the first / last frame of a range (then 1–0 labels the range)' },
      { keys: [['Esc']], action: 'Clear the marked frame range' },
    ],
  },
];
