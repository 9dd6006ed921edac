/**
 * Plain, aligned columns for terminal output: no borders, so the output stays greppable
 * and copy-pastable. (oclif 4 dropped its table helper; a bordered table library would be
 * heavier than these lines.)
 */
export function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n');
}
