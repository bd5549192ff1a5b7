// SIGINT and SIGTERM during `perennial run`. Training holds the event loop
// from start to end, so `process.on('SIGINT')` would never be called in time;
// the addon's handler records the signal instead, and the run polls it at each
// step boundary through a StopSignal. A second signal kills the process at once.
import { constants } from 'node:os';
import type { StopSignal } from '../continual/training/trainer.js';
import { native } from '../tensor/native.js';

// Typed here, where they are used, rather than in the tensor binding's interface.
const binding = native as unknown as {
  installInterruptHandlers(): void;
  pendingInterrupt(): number;
  removeInterruptHandlers(): void;
};

const signalNames = new Map<number, string>(Object.entries(constants.signals).map(([name, n]) => [n, name]));

export interface InterruptListener {
  /** Aborted once SIGINT or SIGTERM has arrived; its reason is the signal's name. */
  readonly signal: StopSignal;
  /** Gives the signals back to Node's default handling. */
  stop(): void;
}

/** Catches SIGINT and SIGTERM from now until stop(). */
export function listenForInterrupts(): InterruptListener {
  binding.installInterruptHandlers();
  const signal: StopSignal = {
    get aborted() {
      return binding.pendingInterrupt() !== 0;
    },
    get reason() {
      const n = binding.pendingInterrupt();
      return n === 0 ? undefined : signalNames.get(n) ?? `signal ${n}`;
    },
  };
  return { signal, stop: () => binding.removeInterruptHandlers() };
}

/** The status a shell gives a command a signal stopped: 128 + its number (130 for SIGINT, 143 for SIGTERM). */
export function interruptedExitCode(reason: unknown): number {
  const n = typeof reason === 'string' ? (constants.signals as Record<string, number>)[reason] : undefined;
  return n === undefined ? 1 : 128 + n;
}
