import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where a running API says where it listens, for the CLI (the port may be 0 in the config: any free one). */
export function apiFilePath(dataDir: string): string {
  return join(dataDir, 'run', 'api.json');
}

export interface ApiFile {
  url: string;
  /** The stop listener's URL (POST /stop on a thread of its own), when it runs. */
  stop_url?: string;
  /** Where an MCP client is sent (with `mcp.enabled`): the stop listener's /mcp when it runs, else the API's. */
  mcp_url?: string;
  pid: number;
  data_dir: string;
}

export function writeApiFile(dataDir: string, info: ApiFile): void {
  const path = apiFilePath(dataDir);
  mkdirSync(join(dataDir, 'run'), { recursive: true });
  try {
    writeFileSync(`${path}.tmp`, JSON.stringify(info, null, 2));
    renameSync(`${path}.tmp`, path);
  } catch (error) {
    rmSync(`${path}.tmp`, { force: true }); // a full disk leaves it empty or cut short
    throw error;
  }
}

export function removeApiFile(dataDir: string, pid = process.pid): void {
  // Only our own: a second daemon on the same data dir must not delete the first one's file.
  if (readApiFile(dataDir)?.pid === pid) rmSync(apiFilePath(dataDir), { force: true });
}

export function readApiFile(dataDir: string): ApiFile | undefined {
  try {
    const value = JSON.parse(readFileSync(apiFilePath(dataDir), 'utf8')) as Partial<ApiFile>;
    return typeof value.url === 'string' && typeof value.pid === 'number' && typeof value.data_dir === 'string'
      ? (value as ApiFile)
      : undefined;
  } catch {
    return undefined; // no API has run with this data dir, or it is being rewritten: the caller falls back
  }
}
