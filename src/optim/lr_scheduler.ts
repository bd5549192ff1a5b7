// Learning-rate schedules, as torch.optim.lr_scheduler (PyTorch 1.13). The
// epoch-based schedulers use PyTorch's recursive ("chainable") formulas, not
// the closed forms, so that their sequences match PyTorch's to the last bit
// and several schedulers can act on one optimizer.

/** What a scheduler needs of an optimizer: its groups' learning rates. */
export interface LrGroups {
  paramGroups: { lr: number; initialLr?: number }[];
}

/** A scheduler's state as JSON-safe data. */
export type SchedulerStateDict = Record<string, number | string | number[] | null>;

/** The base of the learning-rate schedules: step() after each epoch sets every group's lr. */
export abstract class LRScheduler {
  readonly optimizer: LrGroups;
  /** Each group's lr when the schedule started. */
  baseLrs: number[];
  /** Scheduler steps taken; -1 before the step the constructor takes. */
  lastEpoch: number;
  protected stepCount = 0;
  #lastLr: number[] = [];

  /** `lastEpoch` other than -1 resumes a schedule; the groups must then carry initialLr. */
  constructor(optimizer: LrGroups, lastEpoch = -1) {
    this.optimizer = optimizer;
    if (lastEpoch === -1) {
      for (const group of optimizer.paramGroups) group.initialLr ??= group.lr;
    } else {
      optimizer.paramGroups.forEach((group, i) => {
        if (group.initialLr === undefined) throw new Error(`${this.constructor.name}: resuming at lastEpoch ${lastEpoch} needs initialLr in paramGroups[${i}]`);
      });
    }
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr!);
    this.lastEpoch = lastEpoch;
  }

  /** The learning rates for the epoch just reached, from the groups' current ones. */
  protected abstract computeLr(): number[];

  /** Takes the first step; each subclass calls it at the end of its constructor, once its own fields are set. */
  protected initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** Advances the schedule by one epoch and sets the groups' learning rates. Call it after optimizer.step(). */
  step(): void {
    this.stepCount += 1;
    this.lastEpoch += 1;
    const values = this.computeLr();
    this.optimizer.paramGroups.forEach((group, i) => {
      group.lr = values[i]!;
    });
    this.#lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The learning rates set by the last step. */
  getLastLr(): number[] {
    return [...this.#lastLr];
  }

  stateDict(): SchedulerStateDict {
    return { ...this.hyperparameters(), lastEpoch: this.lastEpoch, stepCount: this.stepCount, baseLrs: [...this.baseLrs], lastLr: [...this.#lastLr] };
  }

  loadStateDict(state: SchedulerStateDict): void {
    const num = (key: string): number => {
      const v = state[key];
      if (typeof v !== 'number') throw new TypeError(`${this.constructor.name}.loadStateDict: '${key}' must be a number`);
      return v;
    };
    const nums = (key: string): number[] => {
      const v = state[key];
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) throw new TypeError(`${this.constructor.name}.loadStateDict: '${key}' must be an array of numbers`);
      return [...v];
    };
    this.lastEpoch = num('lastEpoch');
    this.stepCount = num('stepCount');
    this.baseLrs = nums('baseLrs');
    this.#lastLr = nums('lastLr');
    this.loadHyperparameters(num);
  }

  /** The subclass's settings, saved in the state dict. */
  protected abstract hyperparameters(): Record<string, number>;
  protected abstract loadHyperparameters(read: (key: string) => number): void;

  protected groupLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }
}

/** Multiplies each lr by `gamma` every `stepSize` epochs. */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;

  constructor(optimizer: LrGroups, stepSize: number, gamma = 0.1, lastEpoch = -1) {
    if (!Number.isInteger(stepSize) || stepSize < 1) throw new RangeError(`StepLR: invalid stepSize: ${stepSize} (must be an integer >= 1)`);
    super(optimizer, lastEpoch);
    this.stepSize = stepSize;
    this.gamma = gamma;
    this.initialStep();
  }

  protected computeLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * this.gamma);
  }

  protected hyperparameters(): Record<string, number> {
    return { stepSize: this.stepSize, gamma: this.gamma };
  }
  protected loadHyperparameters(read: (key: string) => number): void {
    this.stepSize = read('stepSize');
    this.gamma = read('gamma');
  }
}

/**
 * Cosine annealing from each base lr down to `etaMin` over `tMax` epochs and
 * back up over the next `tMax` (SGDR without restarts), as PyTorch's
 * recursive form computes it.
 */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;

  constructor(optimizer: LrGroups, tMax: number, etaMin = 0, lastEpoch = -1) {
    if (!(tMax > 0)) throw new RangeError(`CosineAnnealingLR: invalid tMax: ${tMax} (must be > 0)`);
    super(optimizer, lastEpoch);
    this.tMax = tMax;
    this.etaMin = etaMin;
    this.initialStep();
  }

  protected computeLr(): number[] {
    const { lastEpoch: e, tMax, etaMin } = this;
    if (e === 0) return this.groupLrs();
    if (this.stepCount === 1 && e > 0) {
      return this.baseLrs.map((base) => etaMin + ((base - etaMin) * (1 + Math.cos((e * Math.PI) / tMax))) / 2);
    }
    if (mod(e - 1 - tMax, 2 * tMax) === 0) {
      return this.groupLrs().map((lr, i) => lr + ((this.baseLrs[i]! - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2);
    }
    return this.groupLrs().map(
      (lr) => ((1 + Math.cos((Math.PI * e) / tMax)) / (1 + Math.cos((Math.PI * (e - 1)) / tMax))) * (lr - etaMin) + etaMin,
    );
  }

  protected hyperparameters(): Record<string, number> {
    return { tMax: this.tMax, etaMin: this.etaMin };
  }
  protected loadHyperparameters(read: (key: string) => number): void {
    this.tMax = read('tMax');
    this.etaMin = read('etaMin');
  }
}

/**
 * SGDR, cosine annealing with warm restarts (Loshchilov & Hutter 2017), as
 * PyTorch's CosineAnnealingWarmRestarts stepped once per epoch: the lr falls
 * from each base lr to `etaMin` over a cycle of T_i epochs, then restarts at
 * the base lr with a cycle `tMult` times longer (T_0 = `t0`):
 *   lr = etaMin + (base − etaMin) · (1 + cos(π · T_cur / T_i)) / 2
 */
export class CosineAnnealingWarmRestarts extends LRScheduler {
  t0: number;
  tMult: number;
  etaMin: number;
  /** Epochs since the last restart, and the length of the current cycle. */
  tCur = 0;
  tI: number;

  constructor(optimizer: LrGroups, t0: number, tMult = 1, etaMin = 0, lastEpoch = -1) {
    if (!Number.isInteger(t0) || t0 < 1) throw new RangeError(`CosineAnnealingWarmRestarts: invalid t0: ${t0} (must be an integer >= 1)`);
    if (!Number.isInteger(tMult) || tMult < 1) throw new RangeError(`CosineAnnealingWarmRestarts: invalid tMult: ${tMult} (must be an integer >= 1)`);
    super(optimizer, lastEpoch);
    this.t0 = t0;
    this.tMult = tMult;
    this.etaMin = etaMin;
    this.tI = t0;
    this.initialStep();
  }

  protected computeLr(): number[] {
    if (this.lastEpoch === 0) {
      this.tI = this.t0;
      this.tCur = 0;
    } else {
      this.tCur += 1;
      if (this.tCur >= this.tI) {
        this.tCur -= this.tI;
        this.tI *= this.tMult;
      }
    }
    return this.baseLrs.map((base) => this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * this.tCur) / this.tI))) / 2);
  }

  protected hyperparameters(): Record<string, number> {
    return { t0: this.t0, tMult: this.tMult, etaMin: this.etaMin, tCur: this.tCur, tI: this.tI };
  }
  protected loadHyperparameters(read: (key: string) => number): void {
    this.t0 = read('t0');
    this.tMult = read('tMult');
    this.etaMin = read('etaMin');
    this.tCur = read('tCur');
    this.tI = read('tI');
  }
}

/** Python's %, whose result takes the divisor's sign. */
function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

/** When ReduceLROnPlateau reduces the learning rate, and by how much (PyTorch's defaults). */
export interface ReduceLROnPlateauOptions {
  /** 'min': the metric should fall (a loss); 'max': it should rise (an accuracy). */
  mode?: 'min' | 'max';
  /** Each reduction multiplies the lr by this (< 1). */
  factor?: number;
  /** Epochs without improvement tolerated before reducing. */
  patience?: number;
  /** The least change that counts as an improvement, relative or absolute per thresholdMode. */
  threshold?: number;
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting bad epochs again. */
  cooldown?: number;
  /** A floor for every group's lr, or one per group. */
  minLr?: number | readonly number[];
  /** Reductions smaller than this are skipped. */
  eps?: number;
}

/**
 * Reduces the learning rates when a metric has stopped improving. Not an
 * epoch schedule: step() takes the metric.
 */
export class ReduceLROnPlateau {
  readonly optimizer: LrGroups;
  mode: 'min' | 'max';
  factor: number;
  patience: number;
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  cooldown: number;
  minLrs: number[];
  eps: number;
  /** The best metric so far (±Infinity before the first step). */
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  #lastLr: number[] | undefined;

  constructor(optimizer: LrGroups, options: ReduceLROnPlateauOptions = {}) {
    this.optimizer = optimizer;
    this.factor = options.factor ?? 0.1;
    if (!(this.factor < 1)) throw new RangeError(`ReduceLROnPlateau: invalid factor: ${this.factor} (must be < 1)`);
    const minLr = options.minLr ?? 0;
    if (typeof minLr === 'number') this.minLrs = optimizer.paramGroups.map(() => minLr);
    else {
      if (minLr.length !== optimizer.paramGroups.length) {
        throw new RangeError(`ReduceLROnPlateau: expected ${optimizer.paramGroups.length} minLr values, got ${minLr.length}`);
      }
      this.minLrs = [...minLr];
    }
    this.patience = options.patience ?? 10;
    this.cooldown = options.cooldown ?? 0;
    this.eps = options.eps ?? 1e-8;
    this.mode = checkMode(options.mode ?? 'min');
    this.threshold = options.threshold ?? 1e-4;
    this.thresholdMode = checkThresholdMode(options.thresholdMode ?? 'rel');
    this.best = this.worst();
  }

  /** Records one epoch's metric (a number or a one-element tensor) and reduces the lrs if it has plateaued. */
  step(metric: number | { item(): number }): void {
    const current = typeof metric === 'number' ? metric : Number(metric.item());
    this.lastEpoch += 1;
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.inCooldown) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.reduceLr();
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.#lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  /** The learning rates after the last step (the groups' current ones before any step). */
  getLastLr(): number[] {
    return this.#lastLr === undefined ? this.optimizer.paramGroups.map((g) => g.lr) : [...this.#lastLr];
  }

  isBetter(a: number, best: number): boolean {
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - this.threshold) : a < best - this.threshold;
    return this.thresholdMode === 'rel' ? a > best * (this.threshold + 1) : a > best + this.threshold;
  }

  private reduceLr(): void {
    this.optimizer.paramGroups.forEach((group, i) => {
      const oldLr = group.lr;
      const newLr = Math.max(oldLr * this.factor, this.minLrs[i]!);
      if (oldLr - newLr > this.eps) group.lr = newLr;
    });
  }

  private worst(): number {
    return this.mode === 'min' ? Infinity : -Infinity;
  }

  /** JSON-safe: an infinite `best` (no step yet) is saved as null. */
  stateDict(): SchedulerStateDict {
    return {
      mode: this.mode,
      factor: this.factor,
      patience: this.patience,
      threshold: this.threshold,
      thresholdMode: this.thresholdMode,
      cooldown: this.cooldown,
      minLrs: [...this.minLrs],
      eps: this.eps,
      best: Number.isFinite(this.best) ? this.best : null,
      numBadEpochs: this.numBadEpochs,
      cooldownCounter: this.cooldownCounter,
      lastEpoch: this.lastEpoch,
      lastLr: this.#lastLr === undefined ? null : [...this.#lastLr],
    };
  }

  loadStateDict(state: SchedulerStateDict): void {
    const num = (key: string): number => {
      const v = state[key];
      if (typeof v !== 'number') throw new TypeError(`ReduceLROnPlateau.loadStateDict: '${key}' must be a number`);
      return v;
    };
    this.mode = checkMode(state['mode']);
    this.thresholdMode = checkThresholdMode(state['thresholdMode']);
    this.factor = num('factor');
    this.patience = num('patience');
    this.threshold = num('threshold');
    this.cooldown = num('cooldown');
    this.eps = num('eps');
    const minLrs = state['minLrs'];
    if (!Array.isArray(minLrs)) throw new TypeError(`ReduceLROnPlateau.loadStateDict: 'minLrs' must be an array of numbers`);
    this.minLrs = [...minLrs];
    this.best = state['best'] === null ? this.worst() : num('best');
    this.numBadEpochs = num('numBadEpochs');
    this.cooldownCounter = num('cooldownCounter');
    this.lastEpoch = num('lastEpoch');
    const lastLr = state['lastLr'];
    this.#lastLr = Array.isArray(lastLr) ? [...lastLr] : undefined;
  }
}

function checkMode(mode: unknown): 'min' | 'max' {
  if (mode !== 'min' && mode !== 'max') throw new RangeError(`ReduceLROnPlateau: invalid mode: ${String(mode)} (must be 'min' or 'max')`);
  return mode;
}

function checkThresholdMode(mode: unknown): 'rel' | 'abs' {
  if (mode !== 'rel' && mode !== 'abs') throw new RangeError(`ReduceLROnPlateau: invalid thresholdMode: ${String(mode)} (must be 'rel' or 'abs')`);
  return mode;
}
