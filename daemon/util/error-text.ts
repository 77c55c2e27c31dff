/** What went wrong, for a message or a log field: an Error's message, anything else thrown as its string. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
