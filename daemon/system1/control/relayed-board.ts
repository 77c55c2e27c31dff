import { ObservationBoard, type BoardLayout } from './observation-board.ts';

/**
 * The daemon's board of a loop that runs in a process of its own: each write goes to the process (its board is the
 * one the loop reads) as well as here. The intake writes it as it writes a thread's board.
 */
export class RelayedBoard extends ObservationBoard {
  readonly #relay: (slot: number, values: Float32Array, timeMs: number) => void;

  constructor(layout: BoardLayout, relay: (slot: number, values: Float32Array, timeMs: number) => void) {
    super(layout);
    this.#relay = relay;
  }

  override write(i: number, values: Float32Array, timeMs: number): void {
    super.write(i, values, timeMs);
    this.#relay(i, values, timeMs);
  }
}
