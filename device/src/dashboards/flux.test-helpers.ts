import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Flux's own parser and type checker (flux-lsp, compiled to WebAssembly) for checking queries
 * without a server. The package is built for bundlers (`import * as wasm from '…wasm'`, which Node
 * cannot load), so the module is instantiated here by hand: the WebAssembly imports forward to the
 * JS glue, whose single import line is pointed at the instance.
 */
interface FluxApi {
  Flux: new (script: string) => { is_valid(): boolean; ast(): unknown; free(): void };
  parse(script: string): unknown;
}

let loaded: Promise<FluxApi> | undefined;
// The project compiles without the DOM lib, where the WebAssembly JS API is declared.
const wasmApi = (globalThis as unknown as { WebAssembly: { instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: unknown } }> } }).WebAssembly;

export function loadFlux(): Promise<FluxApi> {
  return (loaded ??= (async () => {
    const dir = path.dirname(createRequire(import.meta.url).resolve('@influxdata/flux-lsp-browser/package.json'));
    // The wasm module imports its JS glue, which imports the wasm: the proxy reaches the glue once it exists.
    const holder: { glue?: Record<string, (...a: unknown[]) => unknown> } = {};
    const forward = new Proxy(
      {},
      {
        get:
          (_t, name: string) =>
          (...a: unknown[]) =>
            holder.glue![name]!(...a),
      },
    );
    const { instance } = await wasmApi.instantiate(fs.readFileSync(path.join(dir, 'flux-lsp-browser_bg.wasm')), { './flux-lsp-browser_bg.js': forward });
    const key = `__cdmFluxWasm${process.pid}`;
    (globalThis as Record<string, unknown>)[key] = instance.exports;
    const src = fs.readFileSync(path.join(dir, 'flux-lsp-browser_bg.js'), 'utf8');
    const line = "import * as wasm from './flux-lsp-browser_bg.wasm';";
    if (!src.includes(line)) throw new Error('@influxdata/flux-lsp-browser changed its layout; update flux.test-helpers.ts');
    holder.glue = (await import(`data:text/javascript;base64,${Buffer.from(src.replace(line, `const wasm = globalThis.${key};`)).toString('base64')}`)) as typeof holder.glue;
    return holder.glue as unknown as FluxApi;
  })());
}

/** Parse errors the AST carries (flux-lsp returns an AST for any input, with errors on its nodes). */
function astErrors(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => astErrors(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'errors' && Array.isArray(v)) out.push(...v.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))));
      else astErrors(v, out);
    }
  }
  return out;
}

/** undefined when the query parses and type-checks; otherwise what is wrong (as far as Flux says). */
export async function fluxProblem(query: string): Promise<string | undefined> {
  const flux = await loadFlux();
  const errors = astErrors(flux.parse(query));
  if (errors.length) return errors.join('; ');
  const f = new flux.Flux(query);
  try {
    return f.is_valid() ? undefined : 'does not type-check (unknown function, wrong argument or type)';
  } finally {
    f.free();
  }
}
