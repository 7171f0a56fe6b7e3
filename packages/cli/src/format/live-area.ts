import { stripVTControlCharacters } from 'node:util';
import { visibleLength } from './colors.js';

/**
 * A block of lines redrawn in place on a terminal (progress of a rollout or
 * an operation): each draw moves the cursor back to the first line of the
 * previous one and clears below it.
 */
export class LiveArea {
  private drawn = 0;

  constructor(private readonly out: NodeJS.WritableStream & { columns?: number }) {}

  draw(text: string): void {
    // Lines cut to the terminal's width: a wrapped line would throw off the cursor arithmetic.
    // A pty of unknown size reports 0 columns: then nothing is cut.
    const columns = this.out.columns || Infinity;
    const width = Math.max(20, columns - 1);
    const fitted = text
      .split('\n')
      .map((l) => {
        if (visibleLength(l) <= width) return l;
        // Cutting through an escape sequence would garble it: a cut line loses its colour.
        return `${stripVTControlCharacters(l).slice(0, width - 1)}…`;
      })
      .join('\n');
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}F\x1b[J`);
    this.out.write(fitted);
    this.drawn = fitted.split('\n').length - 1;
  }
}
