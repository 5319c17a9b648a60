// Bundles the host (already compiled by tsc into build/) into dist/: the embedding API, the CLI and
// the two worker entry points. The workers keep their folder (dist/syscall/, dist/guest/) and shared
// chunks sit at the top of dist/, as host/ does in build/, so host/worker-entry-points.ts finds the
// workers at the same relative URLs in both.
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
      'syscall/syscall-worker': 'build/host/syscall/syscall-worker.js',
      'guest/guest-worker': 'build/host/guest/guest-worker.js',
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
