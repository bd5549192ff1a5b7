// The Slurm launcher (written separately; this declares what the sweep command calls).
import type { Manifest } from './manifest.js';

export interface SlurmOptions { partition?: string; time?: string; memory?: string; account?: string; concurrency?: number; cpusPerTask: number; extraDirectives: string[] }

export function launchSlurm(_dir: string, _manifest: Manifest, _options: SlurmOptions): void { throw new Error('the Slurm launcher is not built yet'); }
