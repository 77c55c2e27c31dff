/**
 * A bag that can't be read or written as asked. The message names the file and the problem, and says what
 * to do where there is something to do; `file` is the path it is about.
 */
export class BagError extends Error {
  override name = 'BagError';
  readonly file: string;
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.file = file;
  }
}
