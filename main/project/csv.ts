// A small RFC 4180 CSV reader/writer (quotes, doubled quotes, CRLF) for label import and export.

export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  for (let i = 0; i < src.length; i += 1) {
    const ch = src[i] as string;
    if (quoted) {
      if (ch === '"' && src[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field.length === 0) quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && src[i + 1] === '\n') i += 1;
      row.push(field);
      field = '';
      if (row.some((f) => f.length > 0)) rows.push(row);
      row = [];
    } else field += ch;
  }
  row.push(field);
  if (row.some((f) => f.length > 0)) rows.push(row);
  return rows;
}

function quote(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

export function formatCsv(rows: (string | number | null)[][]): string {
  return rows.map((r) => r.map((v) => quote(v === null ? '' : String(v))).join(',')).join('\n') + '\n';
}

const PATH_COLUMNS = ['path', 'file', 'filename', 'file_name', 'image', 'image_path', 'name'];
const LABEL_COLUMNS = ['label', 'class', 'class_name', 'category', 'target'];

/** Reads a labels CSV (a header naming a path column and a label column). Returns null if it is not one. */
export function readLabelsCsv(text: string): { path: string; label: string }[] | null {
  const rows = parseCsv(text);
  const header = rows[0]?.map((h) => h.trim().toLowerCase());
  if (!header) return null;
  const pi = header.findIndex((h) => PATH_COLUMNS.includes(h));
  const li = header.findIndex((h) => LABEL_COLUMNS.includes(h));
  if (pi < 0 || li < 0) return null;
  return rows.slice(1).flatMap((r) => {
    const p = r[pi]?.trim();
    const l = r[li]?.trim();
    return p && l ? [{ path: p, label: l }] : [];
  });
}
