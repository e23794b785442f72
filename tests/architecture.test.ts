// The house rules of docs/ARCHITECTURE.md, read from the imports of src/: no import circle between
// files or folders, the domain never imports the command layer or the terminal, src/db imports
// nothing of ours. The second block proves the checker catches each kind of break.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/cli.js';
import { brokenRules, readImportGraph, type LayerRules } from './support/imports.js';

/** The command layer: the program, the commands, and the terminal-side modules they alone use. */
const COMMAND_LAYER = /^(main\.ts|cli\/|commands\/)/;

const OMNI_RULES: LayerRules = {
  commandLayer: (file) => COMMAND_LAYER.test(file),
  terminalPackages: /^(@inquirer\/|chalk$)/,
  // The listener prints its own coloured log lines on a terminal (stripe-listen style).
  terminalPackageAllowed: (file) => file === 'listener/log.ts',
  dbLayer: (file) => file.startsWith('db/'),
};

describe('the import graph of src/', () => {
  it('keeps the house rules', () => {
    const graph = readImportGraph(path.join(ROOT, 'src'));
    expect(graph.files.length).toBeGreaterThan(50);
    expect(brokenRules(graph, OMNI_RULES)).toEqual([]);
  });
});

describe('the checker', () => {
  function tree(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omni-imports-'));
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), text);
    }
    return dir;
  }
  const sound = {
    'main.ts': "import { a } from './commands/ticket/index.js';\nexport const x = () => import('./commands/ticket/list.js');",
    'commands/ticket/index.ts': "import type { T } from '../../tickets/model.js';\nexport const a = 1;",
    'commands/ticket/list.ts': "import chalk from 'chalk';\nimport { q } from '../../db/tickets.js';",
    'tickets/model.ts': "import { q } from '../db/tickets.js';\nexport type T = 1;",
    'db/tickets.ts': "import { Kysely } from 'kysely';\nexport const q = 1;",
  };

  it('passes a sound tree', () => {
    expect(brokenRules(readImportGraph(tree(sound)), OMNI_RULES)).toEqual([]);
  });

  it('finds a file circle, a folder circle, an arrow up to the commands, a terminal package and a db import', () => {
    const dir = tree({
      ...sound,
      'tickets/model.ts': "import { a } from '../commands/ticket/index.js';\nimport chalk from 'chalk';\nexport type T = 1;",
      'db/tickets.ts': "import type { T } from '../tickets/model.js';\nexport const q = 1;",
      'outbox/a.ts': "import { b } from './b.js';\nexport const a = 1;",
      'outbox/b.ts': "import type { a } from './a.js';\nexport const b = 1;",
      'intake/p.ts': "import { h } from '../chatbot/h.js';\nexport const p = 1;",
      'chatbot/h.ts': "import { p } from '../intake/p.js';\nexport const h = 1;",
    });
    const broken = brokenRules(readImportGraph(dir), OMNI_RULES);
    expect(broken).toEqual(
      expect.arrayContaining([
        'import circle: outbox/a.ts -> outbox/b.ts',
        'import circle: chatbot/h.ts -> intake/p.ts',
        expect.stringMatching(/^folders import each other: .*chatbot.*intake/),
        'tickets/model.ts -> commands/ticket/index.ts: only the command layer may import the command layer or the terminal',
        'tickets/model.ts -> chalk: terminal packages belong to the command layer',
        'db/tickets.ts -> tickets/model.ts: src/db imports nothing of ours',
      ]),
    );
  });

  it('refuses an import it cannot resolve rather than ignoring it', () => {
    expect(() => readImportGraph(tree({ 'a.ts': "import { x } from './missing.js';" }))).toThrow(/cannot resolve/);
  });
});
