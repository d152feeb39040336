/**
 * Just enough of a terminal to see what is left on screen: printable characters (with the
 * pending wrap of a real terminal at the last column), \r, \n, and the escapes the CLI writes:
 * ESC[nA (up), ESC[J (erase to the end of the screen), ESC[K (erase to the end of the line).
 */
export class VirtualTerminal {
  readonly columns: number;
  #lines: string[][] = [[]];
  #row = 0;
  #col = 0;
  /** Set after a character in the last column: the next one wraps to a new line first. */
  #pendingWrap = false;

  constructor(columns: number) {
    this.columns = columns;
  }

  write(text: string): void {
    const chars = [...text];
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i]!;
      if (ch === '\x1b') {
        const m = /^\x1b\[(\d*)([A-Za-z])/.exec(chars.slice(i, i + 12).join(''));
        if (m === null) throw new Error(`VirtualTerminal: unknown escape ${JSON.stringify(chars.slice(i, i + 8).join(''))}`);
        this.#escape(Number(m[1] || 1), m[2]!);
        i += m[0].length - 1;
      } else if (ch === '\r') {
        this.#col = 0;
        this.#pendingWrap = false;
      } else if (ch === '\n') {
        this.#newLine();
      } else {
        this.#put(ch);
      }
    }
  }

  #escape(n: number, kind: string): void {
    this.#pendingWrap = false;
    if (kind === 'A') this.#row = Math.max(0, this.#row - n);
    else if (kind === 'J') {
      this.#lines[this.#row] = this.#lines[this.#row]!.slice(0, this.#col);
      this.#lines.length = this.#row + 1;
    } else if (kind === 'K') this.#lines[this.#row] = this.#lines[this.#row]!.slice(0, this.#col);
    else throw new Error(`VirtualTerminal: unknown escape ESC[${n}${kind}`);
  }

  #newLine(): void {
    this.#row++;
    this.#col = 0;
    this.#pendingWrap = false;
    while (this.#lines.length <= this.#row) this.#lines.push([]);
  }

  #put(ch: string): void {
    if (this.#pendingWrap) this.#newLine();
    const line = this.#lines[this.#row]!;
    while (line.length < this.#col) line.push(' ');
    line[this.#col] = ch;
    if (this.#col === this.columns - 1) this.#pendingWrap = true;
    else this.#col++;
  }

  /** The screen's lines, trailing spaces and empty lines at the end dropped. */
  screen(): string[] {
    const lines = this.#lines.map((l) => l.join('').trimEnd());
    while (lines.length > 0 && lines.at(-1) === '') lines.pop();
    return lines;
  }
}
