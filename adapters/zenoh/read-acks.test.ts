import { describe, expect, it } from 'vitest';
import { ReadAcks, type ReadSocket } from './read-acks.ts';

/** A socket whose reads and writes the test makes. */
class FakeSocket implements ReadSocket {
  written = 0;
  #listeners: (() => void)[] = [];
  onRead(listener: () => void): void {
    this.#listeners.push(listener);
  }
  bytesWritten(): number {
    return this.written;
  }
  read(): void {
    for (const listener of this.#listeners) listener();
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function setup(open = true) {
  const socket = new FakeSocket();
  const state = { open, acks: 0 };
  new ReadAcks({ socket, open: () => state.open, ack: () => void state.acks++ });
  return { socket, state };
}

describe('ReadAcks', () => {
  it('answers the reads of a turn with one ack while a query is open', async () => {
    const { socket, state } = setup();
    socket.read();
    socket.read();
    await nextTurn();
    expect(state.acks).toBe(1);
    socket.read();
    await nextTurn();
    expect(state.acks).toBe(2);
  });

  it('sends nothing while no query is open, nor once the last one ended before the turn was over', async () => {
    const { socket, state } = setup(false);
    socket.read();
    await nextTurn();
    expect(state.acks).toBe(0);
    state.open = true;
    socket.read();
    state.open = false; // the read was the last query's final
    await nextTurn();
    expect(state.acks).toBe(0);
  });

  it('sends nothing when something went out after the last read, which carried the ACK', async () => {
    const { socket, state } = setup();
    socket.read();
    socket.written += 215; // the next request, sent as the reply was handled
    await nextTurn();
    expect(state.acks).toBe(0);
    // Written before a later read of the same turn: that read is still unanswered.
    socket.read();
    socket.written += 215;
    socket.read();
    await nextTurn();
    expect(state.acks).toBe(1);
  });
});
