import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BoardFile } from './board-file.ts';
import { FrameFile } from './frame-file.ts';
import type { ImageSlot } from './loop-plan.ts';

/** Where a loop process's folder goes: memory (tmpfs) first, so its files are shared pages, never disk. */
function folderRoot(): string {
  for (const root of ['/dev/shm', process.env.XDG_RUNTIME_DIR]) {
    if (!root) continue;
    try {
      accessSync(root, constants.W_OK | constants.X_OK);
      return root;
    } catch {
      // Not there, or not ours to write: the next root.
    }
  }
  return tmpdir();
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
    const path = mkdtempSync(join(folderRoot(), 'auraison-loop-'));
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
