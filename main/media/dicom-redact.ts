// Patient-identifying DICOM values never reach a log or an error message: every message produced while a file is
// handled goes through redact() with the values read from that file.
import type { DataSet } from 'dicom-parser';

/** Tags whose values identify a patient (or lead to one): names, ids, dates of birth, addresses, accession numbers. */
export const PHI_TAGS = [
  'x00100010', // PatientName
  'x00100020', // PatientID
  'x00100030', // PatientBirthDate
  'x00100032', // PatientBirthTime
  'x00101000', // OtherPatientIDs
  'x00101001', // OtherPatientNames
  'x00101040', // PatientAddress
  'x00102154', // PatientTelephoneNumbers
  'x00080050', // AccessionNumber
  'x00080080', // InstitutionName
  'x00080081', // InstitutionAddress
  'x00080090', // ReferringPhysicianName
  'x00081050', // PerformingPhysicianName
  'x00081070', // OperatorsName
] as const;

export const REDACTED = '[redacted]';

/** The identifying strings in a data set, each name also split into its components (Family^Given^Middle). */
export function phiValues(ds: DataSet | undefined): string[] {
  if (!ds) return [];
  const out = new Set<string>();
  for (const tag of PHI_TAGS) {
    let v: string | undefined;
    try {
      v = ds.string(tag);
    } catch {
      v = undefined;
    }
    if (!v) continue;
    const trimmed = v.trim();
    if (trimmed.length >= 2) out.add(trimmed);
    for (const part of trimmed.split(/[\^=\\]/)) if (part.trim().length >= 3) out.add(part.trim());
  }
  // Longest first, so "Doe^John" is replaced before "Doe".
  return [...out].sort((a, b) => b.length - a.length);
}

export function redact(message: string, values: readonly string[]): string {
  let out = message;
  for (const v of values) out = out.split(v).join(REDACTED);
  return out;
}
