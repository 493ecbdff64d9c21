/**
 * The one error type for bad input: a file (or named bytes) that cannot be
 * used, with the file named and the problem stated in the message. Anything
 * else escaping a loader is a bug in cdam, not in the input.
 */
export class InputError extends Error {
  override name = 'InputError';
  /** the file (path, URL or given name) the problem is in */
  readonly file: string;
  constructor(file: string, message: string) {
    super(message);
    this.file = file;
  }
}
