import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { memoryFolder } from '../../util/index.ts';
import { BoardFile } from './board-file.ts';
import { FrameFile } from './frame-file.ts';
import type { ImageSlot } from './loop-plan.ts';

const PREFIX = 'auraison-loop-';

/** Whether a process with `pid` runs (one of another user's counts: it is not ours to judge). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes the folders that daemons which are gone left in `root` (a daemon killed with SIGKILL removes nothing): each
 * folder's name carries the daemon's pid. Exported for its test.
 */
export function sweepLoopFolders(root: string): string[] {
  const swept: string[] = [];
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return swept;
  }
  for (const name of names) {
    const pid = Number(/^auraison-loop-(\d+)-/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
    try {
      rmSync(join(root, name), { recursive: true, force: true });
      swept.push(name);
    } catch {
      // Another user's: theirs to remove.
    }
  }
  return swept;
}

/**
 * A loop process's folder (isolation: process), which only the daemon's user may enter: the observation board's
 * file and the cameras' frame files, which the daemon writes and the process maps, and the stop relay's socket.
 * Callers must `remove()` it once the process has exited (LoopProcess does).
 */
export class LoopFolder {
  readonly path: string;
  readonly board: BoardFile;
  /** Per camera, by its slot (LoopPlan.images). */
  readonly frames: FrameFile[];
  #removed: Promise<void> | undefined;

  private constructor(path: string, board: BoardFile, frames: FrameFile[]) {
    this.path = path;
    this.board = board;
    this.frames = frames;
  }

  /** A folder with a board of `boardLengths` (ObservationBoard's slots) and a frame file per camera. */
  static async create(boardLengths: number[], images: ImageSlot[]): Promise<LoopFolder> {
    // Memory first, so its files are shared pages, never disk.
    const root = memoryFolder();
    sweepLoopFolders(root);
    const path = mkdtempSync(join(root, `${PREFIX}${process.pid}-`));
    const frames: FrameFile[] = [];
    let board: BoardFile | undefined;
    try {
      board = new BoardFile(join(path, 'board'), boardLengths);
      for (const image of images)
        frames[image.slot] = await FrameFile.create(join(path, `frame-${image.slot}`), image.shape);
    } catch (error) {
      board?.close();
      await Promise.all(frames.map((f) => f.close()));
      rmSync(path, { recursive: true, force: true });
      throw error;
    }
    return new LoopFolder(path, board, frames);
  }

  /** The frame files' paths, by slot, for the loop process to map. */
  get framePaths(): string[] {
    return this.frames.map((f) => f.path);
  }

  /**
   * Removes the folder at once (a daemon that exits right after leaves no files in tmpfs), then closes the files: a
   * frame's write in progress ends in its unlinked file.
   */
  remove(): Promise<void> {
    if (!this.#removed) {
      rmSync(this.path, { recursive: true, force: true });
      this.board.close();
      this.#removed = Promise.all(this.frames.map((f) => f.close())).then(() => undefined);
    }
    return this.#removed;
  }
}
