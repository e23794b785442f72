import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DocumentErrors, parseDesiredState } from '../../src/provision/document.js';
import { tempDir } from '../support/tmp.js';

const ctx = (env: NodeJS.ProcessEnv = {}, baseDir = '/') => ({ env, baseDir, source: 'test.yaml' });

function errorsOf(text: string, env: NodeJS.ProcessEnv = {}): { path: string; message: string }[] {
  try {
    parseDesiredState(text, ctx(env));
  } catch (err) {
    expect(err).toBeInstanceOf(DocumentErrors);
    return (err as DocumentErrors).errors;
  }
  throw new Error('expected errors');
}

describe('parseDesiredState', () => {
  it('reads catalogs, parameters and interactions, resolving env and file references', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'ats'), 'from-a-file\n');
    const state = parseDesiredState(
      `
units: [HQ]
groups: [Social]
portfolios: [{ name: CS, activities: [DM] }]
parameters: { 450: Y, 453: null, 316: false }
interactions:
  - name: Support
    unit: HQ
    group: Social
    activity: DM
    devEnvironment: prod
    callbackUrl: https://h.example.com
    credentials:
      apiKey: \${env:K}
      accessTokenSecret: \${file:ats}
`,
      ctx({ K: 'from-env' }, dir),
    );
    expect(state.units).toEqual(['HQ']);
    expect(state.portfolios).toEqual([{ name: 'CS', activities: ['DM'] }]);
    expect(state.parameters.get(450)).toEqual({ value: 'Y', path: 'parameters.450' });
    expect(state.parameters.get(453)?.value).toBeNull();
    expect(state.parameters.get(316)?.value).toBe('N');
    expect(state.interactions[0]).toMatchObject({
      name: 'Support',
      channel: 'twitter-dm',
      contactOrigin: 'Twitter',
      activity: { name: 'DM' },
      credentials: { apiKey: 'from-env', accessTokenSecret: 'from-a-file' },
    });
  });

  it('lists every problem with its path', () => {
    const errors = errorsOf(`
units: [HQ, HQ, "12"]
colours: [red]
parameters: { abc: 1 }
interactions:
  - name: A
    unit: HQ
    channel: fax
    api: v9
    helperInterception: "yes"
    credentials: { apiKey: "\${env:MISSING}", password: x }
  - name: A
    unit: HQ
    group: G
    activity: X
    devEnvironment: d
    callbackUrl: https://x.example.com
`);
    const paths = errors.map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'colours',
        'units[1]',
        'units[2]',
        'parameters.abc',
        'interactions[0].channel',
        'interactions[0].group',
        'interactions[0].activity',
        'interactions[0].api',
        'interactions[0].callbackUrl',
        'interactions[0].helperInterception',
        'interactions[0].credentials.password',
      ]),
    );
    // An unset ${env:…} is no shape error: the plan decides (kept on an existing interaction, refused on a new one).
    expect(paths).not.toContain('interactions[0].credentials.apiKey');
    expect(errors.find((e) => e.path === 'interactions[0].api')?.message).toBe("unknown X API generation 'v9'; known: activity, v2, v1.1; activity is X's current API; v2 and v1.1 are for accounts already set up on them");
    // Whether devEnvironment is required depends on the generation: the plan decides, not the parser.
    expect(errors.map((e) => e.path)).not.toContain('interactions[0].devEnvironment');
  });

  it('reports YAML syntax errors with a line', () => {
    const errors = errorsOf('units: [HQ\ngroups: x');
    expect(errors[0]!.path).toMatch(/line \d+/);
  });

  it('accepts JSON, which is YAML', () => {
    const state = parseDesiredState('{"units":["A"],"contracts":["C"]}', ctx());
    expect(state.units).toEqual(['A']);
    expect(state.contracts).toEqual(['C']);
  });
});
