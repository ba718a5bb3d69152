// CSV for data feeders (RFC 4180): a header row, comma separators, quoted fields with "" escapes
// and line breaks inside quotes. Rows remember their 1-based line so problems can point at them.

export interface CsvRow {
  fields: string[];
  line: number;
}

export type CsvResult =
  | { ok: true; rows: CsvRow[] }
  | { ok: false; message: string; line: number; col: number };

export function parseCsv(text: string): CsvResult {
  const rows: CsvRow[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  while (i < text.length) {
    const rowLine = line;
    const fields: string[] = [];
    let lineStart = i;
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        const quoteLine = line;
        const quoteCol = i - lineStart + 1;
        i++;
        for (;;) {
          if (i >= text.length) return { ok: false, message: 'unterminated quoted field', line: quoteLine, col: quoteCol };
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') {
            line++;
            lineStart = i + 1;
          }
          field += c;
          i++;
        }
        // Anything between the closing quote and the separator is a mistake, not data.
        if (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          return { ok: false, message: 'unexpected character after a closing quote', line, col: i - lineStart + 1 };
        }
      } else {
        const start = i;
        while (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') i++;
        field = text.slice(start, i);
      }
      fields.push(field);
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '\r') i++;
      if (text[i] === '\n') {
        i++;
        line++;
      }
      break;
    }
    // Blank lines (often a trailing newline) are not rows.
    if (!(fields.length === 1 && fields[0] === '')) rows.push({ fields, line: rowLine });
  }
  return { ok: true, rows };
}
