/** A value and where it was set, so an error can name the place. */
export interface Setting {
  /** Config file path, "environment" or "command line". */
  file: string;
  /** As written. */
  value: unknown;
  /** Line in `file` (INI files only). */
  line?: number;
}

/** One layer of settings (a file section, env, overrides), keyed by ini key. */
export type Layer = Map<string, Setting>;

/** Values of one section as convict takes them. */
export type Values = Record<string, unknown>;

export function plain(layer: Layer | undefined): Values {
  const out: Values = {};
  for (const [key, { value }] of layer ?? []) out[key] = value;
  return out;
}

/** A setting by key; `a.b` keys of nested unknown objects fall back to their top key. */
export function lookup(layer: Layer | undefined, key: string): Setting | undefined {
  return layer?.get(key) ?? layer?.get(key.split('.')[0] ?? key);
}
