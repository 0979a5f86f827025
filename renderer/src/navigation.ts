// The app's views, in sidebar order. Alt+<digit> (and "g" then <digit>) jump to the view with that digit.
export interface NavItem {
  name: 'library' | 'label' | 'train' | 'results' | 'models' | 'settings';
  path: string;
  label: string;
  digit: string;
  /** One line under the title of the view. */
  summary: string;
}

export const NAV_ITEMS: readonly NavItem[] = [
  {
    name: 'library',
    path: '/library',
    label: 'Library',
    digit: '1',
    summary: 'Images, videos and scans you work with',
  },
  { name: 'label', path: '/label', label: 'Label', digit: '2', summary: 'Annotate items for training' },
  { name: 'train', path: '/train', label: 'Train', digit: '3', summary: 'Train S4ND models on labelled data' },
  {
    name: 'results',
    path: '/results',
    label: 'Results',
    digit: '4',
    summary: 'Predictions and metrics of trained models',
  },
  { name: 'models', path: '/models', label: 'Models', digit: '5', summary: 'Models you trained or imported' },
  {
    name: 'settings',
    path: '/settings',
    label: 'Settings',
    digit: '6',
    summary: 'Appearance, performance and the offline audit',
  },
];
