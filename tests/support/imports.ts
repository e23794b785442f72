// Reads the import graph of a source tree (static imports and re-exports, `import type` included, and
// dynamic import() with a literal specifier) and checks the house rules against it. Used by
// tests/architecture.test.ts on src/, and by its own tests on small trees made for them.
import fs from 'node:fs';
import path from 'node:path';

export interface ImportGraph {
  /** Files relative to the root, with '/' separators. */
  files: string[];
  /** file -> files of the tree it imports. */
  edges: Map<string, Set<string>>;
  /** file -> package specifiers it imports ('chalk', '@inquirer/prompts', 'node:fs'). */
  packages: Map<string, Set<string>>;
}

const SPECIFIER =
  /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function listSources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSources(full));
    else if (/\.(ts|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

export function readImportGraph(root: string): ImportGraph {
  const files = listSources(root).map((f) => path.relative(root, f).split(path.sep).join('/')).sort();
  const known = new Set(files);
  const edges = new Map<string, Set<string>>();
  const packages = new Map<string, Set<string>>();
  for (const file of files) {
    const text = stripComments(fs.readFileSync(path.join(root, file), 'utf8'));
    const local = new Set<string>();
    const pkgs = new Set<string>();
    for (const m of text.matchAll(SPECIFIER)) {
      const spec = m[1] ?? m[2]!;
      if (!spec.startsWith('.')) {
        pkgs.add(spec);
        continue;
      }
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, '.ts');
      const candidates = [target, target.replace(/\.ts$/, '') + '.ts', target + '/index.ts'];
      const hit = candidates.find((c) => known.has(c));
      if (!hit) throw new Error(`${file}: cannot resolve import '${spec}'`);
      if (hit !== file) local.add(hit);
    }
    edges.set(file, local);
    packages.set(file, pkgs);
  }
  return { files, edges, packages };
}

/** The import circles (strongly connected components of more than one file, or a file importing itself). */
export function circles(edges: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || edges.get(v)?.has(v)) found.push(component.sort());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!idx.has(v)) visit(v);
  return found;
}

/** The folder a file belongs to for the folder-level rule: its first directory, or the file itself at the top. */
export function room(file: string): string {
  const slash = file.indexOf('/');
  return slash === -1 ? file : file.slice(0, slash);
}

/** The graph between rooms (folders directly under the root, and top-level files). */
export function roomEdges(graph: ImportGraph): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [from, targets] of graph.edges) {
    const a = room(from);
    if (!out.has(a)) out.set(a, new Set());
    for (const to of targets) {
      const b = room(to);
      if (b !== a) out.get(a)!.add(b);
    }
  }
  return out;
}

export interface LayerRules {
  /** Rooms of the command layer (the terminal side): nothing outside it may import them. */
  commandLayer: (file: string) => boolean;
  /** Packages only the command layer (or an allowed outer adapter) may use. */
  terminalPackages: RegExp;
  /** Files outside the command layer allowed to use terminal packages (e.g. the listener's own log colours). */
  terminalPackageAllowed: (file: string) => boolean;
  /** The database layer: imports nothing of ours outside itself. */
  dbLayer: (file: string) => boolean;
}

/** Every broken rule, one line each ("a -> b: why"). Empty when the house keeps its rules. */
export function brokenRules(graph: ImportGraph, rules: LayerRules): string[] {
  const broken: string[] = [];
  for (const c of circles(graph.edges)) broken.push(`import circle: ${c.join(' -> ')}`);
  for (const c of circles(roomEdges(graph))) broken.push(`folders import each other: ${c.join(' <-> ')}`);
  for (const [from, targets] of graph.edges) {
    for (const to of targets) {
      if (!rules.commandLayer(from) && rules.commandLayer(to)) {
        broken.push(`${from} -> ${to}: only the command layer may import the command layer or the terminal`);
      }
      if (rules.dbLayer(from) && !rules.dbLayer(to)) broken.push(`${from} -> ${to}: src/db imports nothing of ours`);
    }
    for (const pkg of graph.packages.get(from) ?? []) {
      if (!rules.commandLayer(from) && rules.terminalPackages.test(pkg) && !rules.terminalPackageAllowed(from)) {
        broken.push(`${from} -> ${pkg}: terminal packages belong to the command layer`);
      }
    }
  }
  return broken.sort();
}
