// Which class-incremental heads a run uses (`cilHeads`): one head per task,
// concatenated ('growing'), or one head over all the benchmark's classes from
// task 1 ('full', Mammoth's class-IL convention). 'auto' asks the configured
// algorithms: full when one needs it (DER, DER++: their logit matching needs
// the logits of classes not yet seen, algorithms-next.md section 16), else
// growing. Checked when an experiment is validated, so that a contradiction
// is a configuration error naming both fixes, not a run that quietly scores
// like finetuning.
import type { CilHeads } from '../continual/algorithms/definition.js';
import { cilHeadsNeed } from '../continual/algorithms/registry.js';
import type { ExperimentConfig } from './experiment_types.js';
import type { Reporter } from './schema.js';

/** The CIL heads of a validated experiment ('growing' outside CIL, where the setting does not apply). */
export function resolveCilHeads(e: Pick<ExperimentConfig, 'paradigm' | 'cilHeads' | 'algorithms'>): CilHeads {
  if (e.paradigm !== 'cil') return 'growing';
  if (e.cilHeads !== 'auto') return e.cilHeads;
  return e.algorithms.some((a) => cilHeadsNeed(a)?.heads === 'full') ? 'full' : 'growing';
}

/** The cross-field checks of `cilHeads`: full only in CIL, and no configured algorithm needing other heads than those set or chosen. */
export function checkCilHeads(e: ExperimentConfig, report: Reporter): void {
  if (e.paradigm !== 'cil') {
    if (e.cilHeads === 'full') report(['cilHeads'], `'full' applies to paradigm cil only, but paradigm is '${e.paradigm}'; remove cilHeads or set paradigm: cil`);
    return;
  }
  const needs = e.algorithms.map(cilHeadsNeed);
  const firstFull = needs.findIndex((n) => n?.heads === 'full');
  needs.forEach((need, i) => {
    if (need === null) return;
    const name = e.algorithms[i]!.name;
    const lift = need.unless === undefined ? '' : `, or set algorithms[${i}].${need.unless}`;
    if (e.cilHeads !== 'auto' && e.cilHeads !== need.heads) {
      report(['cilHeads'], `is '${e.cilHeads}', but '${name}' (algorithms[${i}]) needs ${need.heads} heads: ${need.because}; set cilHeads: ${need.heads} (or auto)${lift}`);
    } else if (e.cilHeads === 'auto' && need.heads === 'growing' && firstFull >= 0) {
      const other = e.algorithms[firstFull]!.name;
      report(['algorithms', i, 'name'], `'${name}' needs growing heads (${need.because}), but '${other}' (algorithms[${firstFull}]) needs full ones (${needs[firstFull]!.because}); remove one of them${lift}`);
    }
  });
}
