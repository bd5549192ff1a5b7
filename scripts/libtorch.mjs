// Locates libtorch for the native build. Two layouts are supported:
//  - an official libtorch download (CPU or CUDA), pointed at by the LIBTORCH
//    environment variable: LIBTORCH/include, LIBTORCH/lib;
//  - Debian's libtorch-dev: headers in /usr/include, libraries in the
//    multiarch directory.
// Used by binding.gyp (`node scripts/libtorch.mjs include|libdir|libs`) and by
// build-native.mjs to report what is missing before compiling anything.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const DEBIAN_INCLUDE = '/usr/include';
const DEBIAN_LIBDIR = '/usr/lib/x86_64-linux-gnu';

export function locateLibtorch() {
  const root = process.env.LIBTORCH;
  if (root) {
    const include = [join(root, 'include'), join(root, 'include/torch/csrc/api/include')];
    const libdir = join(root, 'lib');
    const problems = [];
    if (!existsSync(join(root, 'include/torch/csrc/api/include/torch/torch.h'))) {
      problems.push(`LIBTORCH=${root} has no include/torch/csrc/api/include/torch/torch.h; point LIBTORCH at the unpacked libtorch directory`);
    }
    if (!existsSync(join(libdir, 'libtorch_cpu.so'))) {
      problems.push(`LIBTORCH=${root} has no lib/libtorch_cpu.so`);
    }
    const hasCuda = existsSync(join(libdir, 'libtorch_cuda.so'));
    return { source: `LIBTORCH=${root}`, include, libdir, hasCuda, problems };
  }
  // /usr/include itself is on the default search path; adding it with -I would
  // break libstdc++'s #include_next chain.
  const include = [join(DEBIAN_INCLUDE, 'torch/csrc/api/include')];
  const problems = [];
  if (!existsSync(join(DEBIAN_INCLUDE, 'torch/csrc/api/include/torch/torch.h'))) {
    problems.push("libtorch headers not found: install Debian's libtorch-dev (bash scripts/setup.sh does it), or set LIBTORCH to an unpacked libtorch download");
  }
  if (!existsSync(join(DEBIAN_LIBDIR, 'libtorch_cpu.so'))) {
    problems.push(`libtorch_cpu.so not found in ${DEBIAN_LIBDIR}: install libtorch-dev`);
  }
  return { source: 'Debian libtorch-dev', include, libdir: DEBIAN_LIBDIR, hasCuda: false, problems };
}

/** Library search path and rpath, so the addon finds libtorch at run time. */
export function linkFlags(lt) {
  return [`-L${lt.libdir}`, `-Wl,-rpath,${lt.libdir}`];
}

/** Libraries, placed after the objects on the link line. CUDA kernels register
 * themselves when libtorch_cuda loads, so it stays linked although no symbol
 * of it is referenced. */
export function libraries(lt) {
  const libs = [];
  if (lt.hasCuda) libs.push('-Wl,--no-as-needed', '-ltorch_cuda', '-Wl,--as-needed');
  libs.push('-ltorch', '-ltorch_cpu', '-lc10');
  if (lt.hasCuda && existsSync(join(lt.libdir, 'libc10_cuda.so'))) libs.push('-lc10_cuda');
  return libs;
}

export function openblasPresent() {
  const dir = join(DEBIAN_LIBDIR, 'openblas-pthread');
  return existsSync(dir) && readdirSync(dir).some((f) => f.startsWith('libblas.so'));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const lt = locateLibtorch();
  const what = process.argv[2];
  if (what === 'include') console.log(lt.include.join(' '));
  else if (what === 'ldflags') console.log(linkFlags(lt).join(' '));
  else if (what === 'libraries') console.log(libraries(lt).join(' '));
  else if (what === 'defines') console.log(lt.hasCuda ? 'PERENNIAL_WITH_CUDA=1' : 'PERENNIAL_WITH_CUDA=0');
  else {
    console.error('usage: node scripts/libtorch.mjs include|ldflags|libraries|defines');
    process.exit(2);
  }
}
