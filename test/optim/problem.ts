// The least-squares problem of tools/fixtures/optim.py, rebuilt from the
// fixture, and helpers to replay PyTorch's optimizer runs on it.
import assert from 'node:assert/strict';
import { type Tensor, tidy } from '../../src/index.js';
import { Parameter } from '../../src/nn/index.js';
import { Adam, AdamW, type AdamOptions, type Optimizer, type ParamGroupSpec, SGD, type SGDOptions } from '../../src/optim/index.js';
import { type FixtureTensor, assertMatches, fromFixture, loadFixture } from '../helpers.js';

export type Kind = 'sgd' | 'adam' | 'adamw';
export type Options = Record<string, number | boolean | number[]>;
export type StateFixture = Record<string, FixtureTensor | number>;

export interface RunFixture {
  kind: Kind;
  options: Options;
  groups?: { params: number[]; options: Options }[];
  skipBiasOnOdd?: boolean;
  trajectory: { W: FixtureTensor; b: FixtureTensor }[];
  state: StateFixture[];
}

export interface OptimFixture {
  torch: string;
  steps: number;
  resetAt: number;
  data: { X: FixtureTensor; Y: FixtureTensor; W0: FixtureTensor; b0: FixtureTensor };
  runs: Record<string, RunFixture>;
  maskedReset: { masks: { W: FixtureTensor; b: FixtureTensor }; runs: Record<string, RunFixture> };
  fullReset: Record<string, RunFixture>;
  schedules: Record<string, { lrs: number[]; stepSize?: number; gamma?: number; tMax?: number; etaMin?: number; lr: number[][] }>;
  plateaus: Record<string, { lrs: number[]; options: Record<string, number | string | number[]>; metrics: number[]; lr: number[][] }>;
}

export const fixture = loadFixture<OptimFixture>('optim');

function parameterFrom(f: FixtureTensor): Parameter {
  const data = fromFixture(f);
  const p = new Parameter(data);
  data.dispose();
  return p;
}

/** mean((X W^T + b - Y)^2) with W [3, 4] and b [3] starting from the fixture's values. */
export class Problem {
  readonly x = fromFixture(fixture.data.X);
  readonly y = fromFixture(fixture.data.Y);
  readonly w = parameterFrom(fixture.data.W0);
  readonly b = parameterFrom(fixture.data.b0);

  get params(): Parameter[] {
    return [this.w, this.b];
  }

  /** Computes the loss and accumulates its gradients into W and b. */
  backward(): void {
    tidy(() => {
      const loss = this.x.matmul(this.w.transpose(0, 1)).add(this.b).sub(this.y).square().mean();
      loss.backward();
    });
  }

  dispose(): void {
    for (const t of [this.x, this.y, this.w, this.b]) t.dispose();
  }
}

export function makeOptimizer(kind: Kind, params: readonly Parameter[] | readonly ParamGroupSpec<never>[], options: Options): Optimizer<{ lr: number }> {
  switch (kind) {
    case 'sgd':
      return new SGD(params as readonly Parameter[], options as unknown as SGDOptions);
    case 'adam':
      return new Adam(params as readonly Parameter[], options as unknown as AdamOptions);
    case 'adamw':
      return new AdamW(params as readonly Parameter[], options as unknown as AdamOptions);
  }
}

/** The optimizer a fixture run used, on the problem's parameters. */
export function optimizerFor(run: RunFixture, problem: Problem): Optimizer<{ lr: number }> {
  if (run.groups === undefined) return makeOptimizer(run.kind, problem.params, run.options);
  const groups = run.groups.map((g) => ({ ...g.options, params: g.params.map((i) => problem.params[i]!) }));
  return makeOptimizer(run.kind, groups as unknown as ParamGroupSpec<never>[], run.options);
}

/** One training step as the fixture generator takes it. */
export function trainStep(problem: Problem, optimizer: Optimizer<{ lr: number }>): void {
  optimizer.zeroGrad();
  problem.backward();
  optimizer.step();
}

export function assertParams(problem: Problem, expected: { W: FixtureTensor; b: FixtureTensor }, message: string): void {
  assertMatches(problem.w, expected.W, `${message}: W`);
  assertMatches(problem.b, expected.b, `${message}: b`);
}

/** Compares the optimizer's state with PyTorch's; `extra` names state tensors PyTorch has no counterpart for. */
export function assertState(optimizer: Optimizer<{ lr: number }>, problem: Problem, expected: StateFixture[], message: string, extra: readonly string[] = []): void {
  problem.params.forEach((p, i) => {
    const state = optimizer.getState(p);
    assert.ok(state !== undefined, `${message}: param ${i} has no state`);
    const want = expected[i]!;
    const wantNames = Object.keys(want).filter((k) => k !== 'step').sort();
    const gotNames = Object.keys(state.tensors).filter((k) => !extra.includes(k)).sort();
    assert.deepEqual(gotNames, wantNames, `${message}: param ${i} state names`);
    if (typeof want['step'] === 'number') assert.equal(state.step, want['step'], `${message}: param ${i} step`);
    for (const name of wantNames) assertMatches(state.tensors[name]!, want[name] as FixtureTensor, `${message}: param ${i} ${name}`);
  });
}

/** Values of a tensor as plain numbers. */
export function values(t: Tensor): number[] {
  return Array.from(t.toTypedArray(), Number);
}
