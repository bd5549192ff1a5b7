// Tensor storage: freed large blocks are reused rather than handed back to the
// kernel and faulted in again, and what the allocator keeps for reuse is
// bounded (native/block_cache.h).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Tensor, randn, tidy, zeros } from '../../src/index.js';

const MB = 1024 * 1024;

// Float counts from 32 KB to 8 MB, visited in a scrambled order.
const SIZES = [8192, 25_000, 65_536, 196_000, 262_144, 500_000, 1_048_576, 2_000_000];

describe('allocator', () => {
  it('a scope that frees several large tensors at once does not make the next one fault their pages back in', () => {
    // Three 784 KB blocks freed together at the heap top exceeded glibc's trim
    // threshold: every iteration faulted about 530 pages back in.
    const x = randn([196, 1000]);
    const step = (): void => tidy(() => { x.mul(2).add(1).relu(); });
    for (let i = 0; i < 50; i++) step();
    const before = process.resourceUsage().minorPageFault;
    for (let i = 0; i < 200; i++) step();
    const perStep = (process.resourceUsage().minorPageFault - before) / 200;
    x.dispose();
    assert.ok(perStep < 20, `${perStep.toFixed(0)} page faults per iteration`);
  });

  it('a loop creating and freeing large tensors of varying sizes stays bounded in resident memory', () => {
    // Some tensors are freed by scopes at once, some left to the garbage
    // collector (freed in bursts), with long-lived tensors between them. The
    // blocks kept for reuse are resident by the end of the warm-up, so what
    // follows must not add to it.
    const longLived: Tensor[] = [];
    const step = (i: number): void => {
      const n = SIZES[(i * 5 + (i >> 3)) % SIZES.length]!;
      if (i % 3 === 0) {
        zeros([n]);
      } else {
        tidy(() => {
          zeros([n]).add(1);
        });
      }
      // Every 50 steps one of eight long-lived tensors is replaced.
      if (i % 50 === 0) {
        const slot = (i / 50) % 8;
        longLived[slot]?.dispose();
        longLived[slot] = zeros([SIZES[slot]!]);
      }
    };
    for (let i = 0; i < 1000; i++) step(i);
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    // About 20 GB allocated in this part.
    for (let i = 1000; i < 7000; i++) {
      step(i);
      if (i % 100 === 0) peak = Math.max(peak, process.memoryUsage().rss);
    }
    for (const t of longLived) t.dispose();
    const growth = peak - rssBefore;
    assert.ok(growth < 128 * MB, `resident memory grew by ${(growth / MB).toFixed(0)} MB after warming up`);
  });
});
