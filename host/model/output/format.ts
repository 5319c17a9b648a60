// The model commands' three output forms: an aligned text table, CSV, or JSON (--json).

export type Cell = string | number | null;
export type Row = Readonly<Record<string, Cell>>;

export type OutputFormat = 'table' | 'csv' | 'json';

/** A number for a table: `digits` decimals, thousands separated; integers stay integers. */
export function fmt(v: Cell, digits = 2): string {
  if (v === null) return '-';
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  const d = Math.abs(v) >= 1000 ? 0 : digits;
  return v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

/** Rows as an aligned text table with a header (numbers right-aligned). */
export function table(rows: readonly Row[], columns: readonly string[] = Object.keys(rows[0] ?? {}), digits: Readonly<Record<string, number>> = {}): string {
  const cells = rows.map((r) => columns.map((c) => fmt(r[c] ?? null, digits[c] ?? 2)));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const numeric = columns.map((c) => rows.some((r) => typeof r[c] === 'number'));
  const line = (vals: readonly string[]): string => vals.map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}

/** Rows as CSV (RFC 4180 quoting where needed), full precision. */
export function csv(rows: readonly Row[], columns: readonly string[] = Object.keys(rows[0] ?? {})): string {
  const q = (v: Cell): string => {
    if (v === null) return '';
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns.join(','), ...rows.map((r) => columns.map((c) => q(r[c] ?? null)).join(','))].join('\n') + '\n';
}
