export interface TerminalOutput {
  write(text: string): unknown;
  columns?: number;
}

/**
 * A block of lines at the bottom of a terminal, redrawn in place: the cursor goes back up over
 * the block, the screen is erased from there, and the new lines are written. Lines are cut to the
 * terminal's width, since a wrapped line would throw the count of lines to go back up. Anything
 * printed for good goes between `clear()` and the next `draw()`, so it scrolls up above the block.
 *
 * Between draws the cursor waits at the start of an empty line below the block, not at the end
 * of its last line: what the terminal echoes there by itself (`^C` when Ctrl-C is pressed) then
 * lands on that line, which the next erase clears, instead of wrapping a full last line onto a
 * new one, which threw the count off and left the block's first line on screen above the
 * `cancelled` lines (issue 26).
 */
export class LiveBlock {
  readonly #out: TerminalOutput;
  /** Lines on screen now; the cursor sits at the start of the line below the last one. */
  #height = 0;

  constructor(out: TerminalOutput) {
    this.#out = out;
  }

  #fit(line: string): string {
    const width = Math.max(20, (this.#out.columns || 80) - 1);
    const chars = [...line];
    return chars.length > width ? `${chars.slice(0, width - 1).join('')}…` : line;
  }

  #erase(): string {
    if (this.#height === 0) return '';
    return `\x1b[${this.#height}A\r\x1b[J`;
  }

  draw(lines: readonly string[]): void {
    const text = lines.map((line) => `${this.#fit(line)}\n`).join('');
    this.#out.write(`${this.#erase()}${text}`);
    this.#height = lines.length;
  }

  /** Erases the block, leaving the cursor at the start of its first line. */
  clear(): void {
    if (this.#height === 0) return;
    this.#out.write(this.#erase());
    this.#height = 0;
  }
}
