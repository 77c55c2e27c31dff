/**
 * Why a frame did not become a model input: bad_encoding (a format or encoding not decoded, or bytes that are not
 * what it declares), bad_size, too_large (over max_pixels), decode_failed (short or corrupt data), over_budget (its
 * decode ran past decode_timeout_ms and was abandoned), stale_stamp (its header.stamp repeats or goes back), bad_stamp
 * (its header.stamp is not a time, or is ahead of the daemon's clock).
 */
export type ImageErrorCode =
  'bad_encoding' | 'bad_size' | 'too_large' | 'decode_failed' | 'over_budget' | 'stale_stamp' | 'bad_stamp';

/** A frame that cannot become a model input: the message says what was sent and what is taken. */
export class ImageError extends Error {
  override name = 'ImageError';
  readonly code: ImageErrorCode;
  constructor(code: ImageErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
