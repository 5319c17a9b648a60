// Bundles the host (already compiled by tsc into build/) into dist/: the embedding API, the CLI and
// the two worker entry points. Every output file sits at the top of dist/, so the runtime finds its
// workers with `new URL('./x-worker.js', import.meta.url)` both here and in build/.
import { rmSync } from 'node:fs';
import { dts } from 'rollup-plugin-dts';

// Chunk names carry a content hash: start from an empty dist/ so old chunks do not pile up.
rmSync('dist', { recursive: true, force: true });

const external = (id) => id.startsWith('node:');

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
      // No source maps: they would point at build/ and host/, which the package does not ship.
      sourcemap: false,
    },
  },
  {
    input: 'build/host/index.d.ts',
    external,
    output: { file: 'dist/index.d.ts', format: 'es' },
    plugins: [dts()],
  },
];
