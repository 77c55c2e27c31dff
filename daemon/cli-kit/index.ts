// What every command line of the project shares, below both the daemon's CLI and central's: parsing a
// command's arguments, the Command and CommandIO shapes, UsageError, and the result printers.
export * from './args.ts';
export * from './command.ts';
export * from './printers.ts';
