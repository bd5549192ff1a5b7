// The intra-op thread count: setNumThreads and PERENNIAL_NUM_THREADS refuse
// counts that would abort the process (libgomp cannot allocate a team of 10^9
// threads) or stall it (a team of 10^4 took minutes to start), with an error
// naming the allowed range. Each case runs in a child process, so that a
// regression kills or stalls the child, not the test runner.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { native } from '../../src/tensor/native.js';

const index = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'index.js')).href;
const max = native.maxNumThreads();

/** Runs `body` after importing the library as P in a child; returns its outcome. */
function child(body: string, env: Record<string, string> = {}): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  const script = `const P = await import(${JSON.stringify(index)});\n${body}`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, PERENNIAL_NUM_THREADS: '', ...env },
  });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

// Matrix products run on the intra-op threads, so this is what aborted.
const WORK = 'P.tidy(() => P.randn([256, 256]).matmul(P.randn([256, 256])).sum().item())';

describe('thread count', () => {
  it('the limit is 4 per CPU, and at least 64', () => {
    assert.equal(max, Math.max(64, 4 * cpus().length));
  });

  it('setNumThreads refuses a count outside 1..limit with a RangeError naming the range, and work still runs', () => {
    const out = child(`
      const messages = [];
      for (const n of [1e9, 10000, ${max + 1}, 0, -3, 1.5, NaN]) {
        try { P.setNumThreads(n); messages.push('accepted ' + n); } catch (e) { messages.push(e.constructor.name + ': ' + e.message); }
      }
      const before = P.getNumThreads();
      ${WORK};
      P.setNumThreads(${max});
      const atMax = P.getNumThreads();
      P.setNumThreads(1);
      ${WORK};
      process.stdout.write(JSON.stringify({ messages, before, atMax, after: P.getNumThreads() }));
    `);
    assert.equal(out.signal, null, `killed by ${out.signal}: ${out.stderr}`);
    assert.equal(out.status, 0, out.stderr);
    const result = JSON.parse(out.stdout) as { messages: string[]; before: number; atMax: number; after: number };
    const shown = ['1000000000', '10000', String(max + 1), '0', '-3', '1.5', 'NaN'];
    assert.equal(result.messages.length, shown.length);
    result.messages.forEach((message, i) => {
      assert.equal(
        message,
        `RangeError: setNumThreads: the number of threads must be an integer from 1 to ${max}, got ${shown[i]} ` +
          '(the limit is 4 per CPU and at least 64: more threads only add overhead, and a huge count aborts the process)',
      );
    });
    assert.ok(result.before >= 1 && result.before <= max);
    assert.equal(result.atMax, max);
    assert.equal(result.after, 1);
  });

  it('PERENNIAL_NUM_THREADS outside 1..limit fails the import with an error naming the variable', () => {
    for (const value of ['1000000000', '10000', '0', '-1', '2.5', 'abc']) {
      const out = child(`${WORK}; process.stdout.write('ran');`, { PERENNIAL_NUM_THREADS: value });
      assert.equal(out.signal, null, `${value}: killed by ${out.signal}: ${out.stderr}`);
      assert.equal(out.status, 1, `${value}: ${out.stdout} ${out.stderr}`);
      assert.equal(out.stdout, '');
      assert.ok(!out.stderr.includes('libgomp'), out.stderr);
      assert.ok(
        out.stderr.includes(`RangeError: PERENNIAL_NUM_THREADS must be an integer from 1 to ${max}, got '${value}' `),
        `${value}: ${out.stderr}`,
      );
      assert.match(out.stderr, /set it within the range, or unset it for libtorch's default/);
    }
  });

  it('libgomp waits passively unless the user chose a policy (spinning workers made two threads five times slower on two cores)', () => {
    // OMP_DISPLAY_ENV=verbose makes libgomp print what it read when it loaded:
    // its spin count is 0 only under an explicit passive policy (its default,
    // no policy, spins 300,000 times and is displayed as 'PASSIVE' too).
    const spins = (policy: string): string | undefined => {
      const out = child(`${WORK};`, { OMP_DISPLAY_ENV: 'verbose', OMP_WAIT_POLICY: policy });
      assert.equal(out.status, 0, out.stderr);
      return /GOMP_SPINCOUNT = '(\d+)'/.exec(out.stderr)?.[1];
    };
    assert.equal(spins(''), '0');
    assert.equal(spins('active'), '30000000000');
  });

  it('PERENNIAL_NUM_THREADS within the range sets the count', () => {
    const out = child(`${WORK}; process.stdout.write(String(P.getNumThreads()));`, { PERENNIAL_NUM_THREADS: '3' });
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stdout, '3');
  });
});
