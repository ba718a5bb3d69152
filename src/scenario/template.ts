// Templates: `${…}` placeholders compiled once into a renderer, so no string is parsed per frame.
// The interface is the contract the engine renders through; compileTemplate() implements it.

export interface RenderContext {
  /** Captures and `set` variables of this session. */
  vars: Map<string, string>;
  /** 1-based virtual-user number, unique across workers, processes and shards. */
  vu: number;
  /** 0-based iteration of the innermost running loop (0 outside loops). */
  iter: number;
  /** Returns the next value of the session's sequence counter (1, 2, 3…). */
  nextSeq: () => number;
  /** This session's CSV row, when the scenario has a data feeder. */
  data: Record<string, string> | undefined;
  env: NodeJS.ProcessEnv;
}

export type TemplateEscape = 'none' | 'json' | 'regex';

export interface Template {
  readonly source: string;
  /** True when there is no placeholder: staticValue is then the rendered text. */
  readonly isStatic: boolean;
  readonly staticValue: string;
  /** Every reference, as written inside ${…}: "vu", "iter", "env.TOKEN", "data.name", "sid". */
  readonly refs: readonly string[];
  render(ctx: RenderContext): string;
}
