// Text spliced into SQL the lakehouse writes: identifiers and strings quoted so any value is safe.

/** `"name"` with quotes doubled: any column or table name is safe in SQL this way. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
