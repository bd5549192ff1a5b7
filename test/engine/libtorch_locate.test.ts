// The build finds libtorch in a LIBTORCH directory (an official download, the
// way to CUDA) or in Debian's libtorch-dev. No GPU is needed to check how the
// build is configured for each layout.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers.js';

interface Located { source: string; include: string[]; libdir: string; hasCuda: boolean; problems: string[] }
interface LocatorModule {
  locateLibtorch(): Located;
  linkFlags(lt: Located): string[];
  libraries(lt: Located): string[];
}

const script = join(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'scripts', 'libtorch.mjs');
const locator = (await import(script)) as LocatorModule;
const saved = process.env['LIBTORCH'];
after(() => {
  if (saved === undefined) delete process.env['LIBTORCH'];
  else process.env['LIBTORCH'] = saved;
});

function fakeDownload(withCuda: boolean): string {
  const root = tempDir('libtorch-');
  mkdirSync(join(root, 'include/torch/csrc/api/include/torch'), { recursive: true });
  writeFileSync(join(root, 'include/torch/csrc/api/include/torch/torch.h'), '');
  mkdirSync(join(root, 'lib'));
  for (const lib of withCuda ? ['libtorch_cpu.so', 'libtorch_cuda.so', 'libc10_cuda.so'] : ['libtorch_cpu.so']) writeFileSync(join(root, 'lib', lib), '');
  return root;
}

describe('locating libtorch', () => {
  it('uses a CPU download from LIBTORCH, with an rpath to its lib directory', () => {
    const root = fakeDownload(false);
    process.env['LIBTORCH'] = root;
    const lt = locator.locateLibtorch();
    assert.deepEqual(lt.problems, []);
    assert.equal(lt.hasCuda, false);
    assert.deepEqual(lt.include, [join(root, 'include'), join(root, 'include/torch/csrc/api/include')]);
    assert.deepEqual(locator.linkFlags(lt), [`-L${join(root, 'lib')}`, `-Wl,-rpath,${join(root, 'lib')}`]);
    assert.deepEqual(locator.libraries(lt), ['-ltorch', '-ltorch_cpu', '-lc10']);
  });

  it('keeps libtorch_cuda linked for a CUDA download, so its kernels register at load', () => {
    process.env['LIBTORCH'] = fakeDownload(true);
    const lt = locator.locateLibtorch();
    assert.equal(lt.hasCuda, true);
    assert.deepEqual(locator.libraries(lt), ['-Wl,--no-as-needed', '-ltorch_cuda', '-Wl,--as-needed', '-ltorch', '-ltorch_cpu', '-lc10', '-lc10_cuda']);
  });

  it('names what is missing in a wrong LIBTORCH directory', () => {
    process.env['LIBTORCH'] = tempDir('not-libtorch-');
    const { problems } = locator.locateLibtorch();
    assert.equal(problems.length, 2);
    assert.match(problems[0]!, /has no include\/torch\/csrc\/api\/include\/torch\/torch\.h; point LIBTORCH at the unpacked libtorch directory/);
    assert.match(problems[1]!, /has no lib\/libtorch_cpu\.so/);
  });

  it("falls back to Debian's libtorch-dev, which is installed here", () => {
    delete process.env['LIBTORCH'];
    const lt = locator.locateLibtorch();
    assert.equal(lt.source, 'Debian libtorch-dev');
    assert.deepEqual(lt.problems, []);
    assert.deepEqual(lt.include, ['/usr/include/torch/csrc/api/include']);
  });
});
