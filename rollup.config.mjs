// Bundles the host (already compiled by tsc into build/) into dist/: the embedding API, the CLI and
// the worker entry points. The workers keep their folder (dist/syscall/, dist/guest/) and shared
// chunks sit at the top of dist/, as host/ does in build/, so host/worker-entry-points.ts finds the
// workers at the same relative URLs in both.
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
      cli: 'build/host/cli/entry.js',
      'syscall/syscall-worker': 'build/host/syscall/syscall-worker.js',
      'guest/guest-worker': 'build/host/guest/guest-worker.js',
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
