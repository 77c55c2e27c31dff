import type { QueryColumn, StreamSummary } from '../lakehouse/index.ts';

/** stdout, written 64 KiB at a time: one write per row would cost more than the row. */
export class Output {
  #buffer: string[] = [];
  #size = 0;
  constructor(private readonly write: (text: string) => void) {}
  put(text: string): void {
    this.#buffer.push(text);
    this.#size += text.length;
    if (this.#size >= 65536) this.flush();
  }
  flush(): void {
    if (this.#buffer.length > 0) this.write(this.#buffer.join(''));
    this.#buffer = [];
    this.#size = 0;
  }
}

export interface Printer {
  start(columns: QueryColumn[]): void;
  row(values: unknown[]): void;
  end(summary: StreamSummary, maxRows: number): void;
}

export class JsonPrinter implements Printer {
  #first = true;
  constructor(private readonly out: Output) {}
  start(columns: QueryColumn[]): void {
    this.out.put(`{"columns":${JSON.stringify(columns)},"rows":[`);
  }
  row(values: unknown[]): void {
    this.out.put(`${this.#first ? '' : ','}${JSON.stringify(values)}`);
    this.#first = false;
  }
  end(summary: StreamSummary): void {
    const { truncated, truncated_by, warnings } = summary;
    this.out.put(
      `],${JSON.stringify({ truncated, ...(truncated_by ? { truncated_by } : {}), ...(warnings ? { warnings } : {}) }).slice(1)}\n`,
    );
  }
}

export class CsvPrinter implements Printer {
  constructor(private readonly out: Output) {}
  start(columns: QueryColumn[]): void {
    this.out.put(`${columns.map((c) => csvCell(c.name)).join(',')}\n`);
  }
  row(values: unknown[]): void {
    this.out.put(`${values.map(csvCell).join(',')}\n`);
  }
  end(): void {}
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows whose cells set the table's column widths; later rows are printed as they come, cut to those widths. */
const WIDTH_ROWS = 1000;
const MAX_WIDTH = 60;

export class TablePrinter implements Printer {
  #columns: string[] = [];
  #widths: number[] | undefined;
  #held: string[][] = [];
  #rows = 0;
  constructor(private readonly out: Output) {}
  start(columns: QueryColumn[]): void {
    this.#columns = columns.map((c) => c.name);
  }
  row(values: unknown[]): void {
    this.#rows++;
    const cells = values.map((v) => (v === null ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v)));
    if (this.#widths) return this.out.put(`${this.#line(cells)}\n`);
    this.#held.push(cells);
    if (this.#held.length === WIDTH_ROWS) this.#header();
  }
  end(summary: StreamSummary, maxRows: number): void {
    if (!this.#widths) this.#header();
    const n = this.#rows;
    const cut = summary.truncated
      ? summary.truncated_by === 'max_bytes'
        ? ', cut at the most bytes a result may take'
        : `, truncated at ${maxRows}: give --max-rows N for more`
      : '';
    this.out.put(`(${n} row${n === 1 ? '' : 's'}${cut})\n`);
  }
  #header(): void {
    const widths = this.#columns.map((c, i) =>
      Math.min(
        MAX_WIDTH,
        this.#held.reduce((w, r) => Math.max(w, r[i]!.length), c.length),
      ),
    );
    this.#widths = widths;
    this.out.put(`${this.#line(this.#columns)}\n${widths.map((w) => '-'.repeat(w)).join('-+-')}\n`);
    for (const r of this.#held) this.out.put(`${this.#line(r)}\n`);
    this.#held = [];
  }
  #line(cells: string[]): string {
    const widths = this.#widths!;
    // A later row's wider cell overflows its column rather than lose digits; only past MAX_WIDTH is it cut.
    return cells
      .map((c, i) => (c.length > MAX_WIDTH ? `${c.slice(0, MAX_WIDTH - 3)}...` : c).padEnd(widths[i]!))
      .join(' | ');
  }
}
