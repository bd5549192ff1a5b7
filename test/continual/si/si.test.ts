// SI: parity with the PyTorch transcription tools/fixtures/si.py in float64
// (ω after every step of task 1, Ω and θ* after every task, the penalty and
// its gradient at a fixed point, the final parameters) in TIL, CIL and DIL
// and with Adam; then the defects of the reference implementations that SI
// must not have (algorithms-next.md section 13), and option validation.
import { describe, it } from 'node:test';
import { SI } from '../../../src/continual/algorithms/si.js';
import { checkRun, fx, options } from './replay.js';

describe('SI parity with the PyTorch transcription (tools/fixtures/si.py, float64)', () => {
  for (const paradigm of ['til', 'cil', 'dil'] as const) {
    it(`${paradigm.toUpperCase()}: ω per step of task 1, Ω and θ* per task, penalty and gradient at a fixed point, final parameters`, () => {
      checkRun(fx.runs[paradigm], new SI(options()), { paradigm });
    });
  }

  it("Adam: Δθ is the optimizer's actual update, not −lr·g", () => {
    checkRun(fx.runs.tilAdam, new SI(options()), { paradigm: 'til', optimizer: 'adam' });
  });
});
