// Bundles the host (already compiled by tsc into build/) into dist/: the embedding API, the CLI and
// the two worker entry points. Every output file sits at the top of dist/, so the runtime finds its
// workers with `new URL('./x-worker.js', import.meta.url)` both here and in build/.
import { rmSync } from 'node:fs';
import { dts } from 'rollup-plugin-dts';

// Chunk names carry a content hash: start from an empty dist/ so old chunks do not pile up.
rmSync('dist', { recursive: true, force: true });

// The model's libraries stay outside the bundle (binaryen alone is megabytes; loaded only by `model` and --model).
const external = (id) => id.startsWith('node:') || ['binaryen', 'vega', 'vega-lite'].includes(id);

export default [
  {
    input: {
      index: 'build/host/index.js',
      cli: 'build/host/cli/main.js',
      'syscall-worker': 'build/host/runtime/syscall-worker.js',
      'guest-worker': 'build/host/runtime/guest-worker.js',
    },
    external,
    output: {
      dir: 'dist',
      format: 'es',
      entryFileNames: '[name].js',
      chunkFileNames: '[name]-[hash].js',
      sourcemap: true,
    },
  },
  {
    input: 'build/host/index.d.ts',
    external,
    output: { file: 'dist/index.d.ts', format: 'es' },
    plugins: [dts()],
  },
];
