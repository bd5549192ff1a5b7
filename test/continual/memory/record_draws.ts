// Lets a test see every draw an algorithm makes from its memory: wraps the
// memory's sample() so that each non-empty draw is pushed to `draws` (a new
// list by default), which it returns. The draws' tensors stay the
// algorithm's to free.
import type { MemoryBatch, MemoryBuffer } from '../../../src/continual/memory/buffer.js';

export function recordDraws(memory: MemoryBuffer, draws: MemoryBatch[] = []): MemoryBatch[] {
  const sample = memory.sample.bind(memory);
  memory.sample = (count, rng) => {
    const drawn = sample(count, rng);
    if (drawn !== null) draws.push(drawn);
    return drawn;
  };
  return draws;
}
