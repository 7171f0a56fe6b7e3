import { Format, type FormatName, type FormatParams } from './formats.js';

/** One setting: its config.ini name, how it is validated, its default and documentation. */
export interface KeySpec extends FormatParams {
  /** snake_case name as written in config.ini. */
  readonly key: string;
  readonly doc: string;
  readonly default: string | number | boolean | readonly string[];
  readonly format: FormatName;
  /** Never echoed in error messages. */
  readonly sensitive?: boolean;
}

export const str = (key: string, def: string, doc: string, more: Partial<KeySpec> = {}): KeySpec => ({
  key,
  doc,
  default: def,
  format: Format.string,
  ...more,
});
/** A duration in seconds (fractions allowed); `positive` forbids 0. */
export const seconds = (key: string, def: number, doc: string, positive: boolean): KeySpec => ({
  key,
  doc: `${doc} (seconds)`,
  default: def,
  format: Format.number,
  min: 0,
  minExclusive: positive,
});
export const int = (key: string, def: number, doc: string, min?: number, max?: number): KeySpec => ({
  key,
  doc,
  default: def,
  format: Format.int,
  ...(min === undefined ? {} : { min }),
  ...(max === undefined ? {} : { max }),
});
export const bool = (key: string, def: boolean, doc: string): KeySpec => ({ key, doc, default: def, format: Format.bool });
export const choice = (key: string, def: string, values: readonly string[], doc: string): KeySpec => ({
  key,
  doc,
  default: def,
  format: Format.choice,
  values,
});
export const command = (key: string, doc: string, def = ''): KeySpec => ({
  key,
  doc: `${doc}: one command, or key[] lines listing alternatives tried in order (empty: none)`,
  default: def,
  format: Format.commands,
});

/** A list of text entries: `key[] = ...` lines (a single `key = ...` is a list of one). */
export const list = (key: string, doc: string): KeySpec => ({ key, doc, default: [], format: Format.stringList });
