import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
 * A loop process's folder (isolation: process), which only the daemon's user may enter: the cameras' frame files
 * the daemon writes and the process maps, and the stop relay's socket. Callers must `remove()` it once the process
 * has exited (LoopProcess does).
 */
export class LoopFolder {
  readonly path: string;
  /** Per camera, by its slot (LoopPlan.images). */
  readonly frames: FrameFile[];
  #removed: Promise<void> | undefined;

  private constructor(path: string, frames: FrameFile[]) {
    this.path = path;
    this.frames = frames;
  }

  static async create(images: ImageSlot[]): Promise<LoopFolder> {
    const path = mkdtempSync(join(folderRoot(), 'auraison-loop-'));
    const frames: FrameFile[] = [];
    try {
      for (const image of images)
        frames[image.slot] = await FrameFile.create(join(path, `frame-${image.slot}`), image.shape);
    } catch (error) {
      await Promise.all(frames.map((f) => f.close()));
      rmSync(path, { recursive: true, force: true });
      throw error;
    }
    return new LoopFolder(path, frames);
  }

  /** The frame files' paths, by slot, for the loop process to map. */
  get framePaths(): string[] {
    return this.frames.map((f) => f.path);
  }

  /** Closes the files (after a write in progress) and removes the folder. */
  remove(): Promise<void> {
    this.#removed ??= Promise.all(this.frames.map((f) => f.close())).then(() =>
      rmSync(this.path, { recursive: true, force: true }),
    );
    return this.#removed;
  }
}
