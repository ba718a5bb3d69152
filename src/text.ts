// Wording shared by everything that prints for people (console, validate, generated YAML).

/** "1 connection", "18,000 connections". */
export function plural(n: number, word: string): string {
  const count = Number.isInteger(n) ? n.toLocaleString('en-US') : String(n);
  return `${count} ${word}${n === 1 ? '' : 's'}`;
}
