import { createRequire } from 'node:module';
import { cacheGet, cachePut, contentKey } from '../content-cache.js';

/**
 * A component, transpiled by jco: the JavaScript glue (the canonical ABI's lifting and lowering
 * between the component's core modules and the host's `wasi:*` objects) as the body of a function
 * that returns jco's `instantiate(getCoreModule, imports)`, and the core modules it instantiates.
 * Plain data, so it travels to the guest thread in the spawn message.
 */
export interface ComponentCode {
  /** `new Function(js)()` returns jco's synchronous `instantiate`. */
  readonly js: string;
  /** The core modules by the names the glue asks for (`component.core.wasm`, ...). */
  readonly modules: Readonly<Record<string, Uint8Array>>;
  /** The interfaces the component imports, as the glue names them (`wasi:cli/environment`, ...). */
  readonly imports: readonly string[];
}

/** Thrown when jco cannot transpile a component (it is not valid, or uses what jco cannot bind). */
export class ComponentError extends Error {}

/** Changes whenever what is cached changes shape; jco's version is part of the key too. */
const TRANSPILE_VERSION = 2;

function jcoVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require('@bytecodealliance/jco/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * jco writes an ES module (`export function instantiate ...`, `export const _util = ...`). A guest
 * thread must instantiate synchronously inside its import calls' world, without an asynchronous
 * `import()`, so the module's two top-level exports become declarations of a function body that
 * returns `instantiate`. Anything else at the top level (an import would mean jco wants a module
 * of its own) is refused rather than guessed at.
 */
export function glueToFunctionBody(esm: string): string {
  const lines = esm.split('\n');
  let found = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^import[\s{*]/.test(line)) throw new ComponentError('jco\'s output imports a module; flexvm provides every interface itself');
    if (line.startsWith('export function instantiate(')) {
      lines[i] = line.slice('export '.length);
      found = true;
    } else if (/^export (const|let|function|class) /.test(line)) lines[i] = line.slice('export '.length);
    else if (line.startsWith('export')) throw new ComponentError(`unexpected export in jco's output: ${line.slice(0, 80)}`);
  }
  if (!found) throw new ComponentError('jco\'s output has no instantiate function');
  return `${lines.join('\n')}\nreturn instantiate;\n`;
}

async function transpile(bytes: Uint8Array): Promise<ComponentCode> {
  let jco: typeof import('@bytecodealliance/jco');
  try {
    jco = await import('@bytecodealliance/jco');
  } catch {
    // An optional peer dependency: large, and only components need it.
    throw new ComponentError('running a component needs jco: npm install @bytecodealliance/jco');
  }
  let out: { files: Record<string, Uint8Array>; imports: string[] };
  try {
    out = await jco.transpile(bytes, { name: 'component', instantiation: 'sync', noTypescript: true, quiet: true, base64Cutoff: 0 });
  } catch (err) {
    throw new ComponentError(`jco cannot transpile it: ${(err as Error)?.message ?? String(err)}`);
  }
  const modules: Record<string, Uint8Array> = {};
  let esm: string | null = null;
  for (const [name, data] of Object.entries(out.files)) {
    if (name === 'component.js') esm = new TextDecoder().decode(data);
    else if (name.endsWith('.wasm')) modules[name] = data;
  }
  if (esm === null) throw new ComponentError('jco produced no JavaScript');
  return { js: glueToFunctionBody(esm), modules, imports: out.imports };
}

interface Manifest {
  readonly modules: readonly string[];
  readonly imports: readonly string[];
}

const memo = new Map<string, Promise<ComponentCode>>();

/**
 * The transpiled form of a component, from memory, the on-disk cache (keyed by the component's
 * SHA-256, jco's version and this file's) or a fresh `jco transpile` (which needs no network: jco
 * carries its bindings generator as WebAssembly). The manifest is written last, so an entry is
 * used only when all its files are there.
 */
export function prepareComponent(bytes: Uint8Array): Promise<ComponentCode> {
  const key = contentKey(`component-${TRANSPILE_VERSION}-jco-${jcoVersion()}`, bytes);
  let p = memo.get(key);
  if (!p) {
    p = (async () => {
      const manifest = await cacheGet('component', `${key}.json`);
      if (manifest) {
        try {
          const m = JSON.parse(new TextDecoder().decode(manifest)) as Manifest;
          const js = await cacheGet('component', `${key}.js`);
          const modules: Record<string, Uint8Array> = {};
          for (const [i, name] of m.modules.entries()) {
            const data = await cacheGet('component', `${key}.${i}.wasm`);
            if (!data) throw new Error('missing');
            modules[name] = data;
          }
          if (js && Array.isArray(m.imports)) return { js: new TextDecoder().decode(js), modules, imports: m.imports };
        } catch {
          // a damaged entry: transpile again
        }
      }
      const code = await transpile(bytes);
      const names = Object.keys(code.modules);
      await cachePut('component', `${key}.js`, code.js);
      for (const [i, name] of names.entries()) await cachePut('component', `${key}.${i}.wasm`, code.modules[name]!);
      await cachePut('component', `${key}.json`, JSON.stringify({ modules: names, imports: code.imports } satisfies Manifest));
      return code;
    })();
    memo.set(key, p);
    p.catch(() => memo.delete(key));
  }
  return p;
}
