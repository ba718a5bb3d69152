// `volley import file.har`: read the file, pick its WebSocket entries, write a scenario.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { VolleyError } from '../errors.js';
import { generateScenario, type GeneratedScenario } from './generate.js';
import { parseHar } from './har.js';

export interface ImportHarOptions {
  /** Regular expression source; only WebSocket entries whose URL matches are imported. */
  urlFilter?: string;
  timing: 'keep' | 'none';
  name?: string;
}

export function importHar(file: string, opts: ImportHarOptions): GeneratedScenario {
  let urlFilter: RegExp | undefined;
  if (opts.urlFilter !== undefined) {
    // An empty regex matches every URL: `--url-filter ""` (or a shell variable that was not set)
    // would silently import everything.
    if (opts.urlFilter === '') throw new VolleyError('INVALID_INPUT', '--url-filter: expected a regular expression that URLs must match, got an empty one');
    try {
      urlFilter = new RegExp(opts.urlFilter);
    } catch (err) {
      throw new VolleyError('INVALID_INPUT', `--url-filter: not a valid regular expression (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? String(err));
    throw new VolleyError('INVALID_INPUT', `${file}: cannot read the HAR file (${why})`);
  }
  // Exports saved on Windows may start with a byte order mark, which JSON.parse rejects.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const flows = parseHar(text, file, { urlFilter });
  return generateScenario(flows, { timing: opts.timing, name: opts.name, origin: `volley import ${basename(file)}` });
}
