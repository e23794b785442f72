import { describe, expect, it } from 'vitest';
import { runInteractionWizard, type WizardInput } from '../../../src/commands/interaction/wizard.js';
import type { CatalogPort } from '../../../src/commands/interaction/input.js';
import type { CatalogRow } from '../../../src/db/catalogs.js';
import { ConflictError } from '../../../src/db/errors.js';
import type { Secrets } from '../../../src/interactions/model.js';
import { scriptedPrompter, type Step } from '../../support/prompter.js';

type Kind = Parameters<CatalogPort['list']>[0];

/** In-memory catalogs with the real uniqueness rule, recording what the wizard created. */
function memoryCatalogs() {
  let nextId = 10;
  const rows: Record<Kind, CatalogRow[]> = {
    unit: [{ id: 1, name: 'HQ', created_at: 'x' }],
    group: [{ id: 1, name: 'Social', created_at: 'x' }],
    portfolio: [{ id: 1, name: 'CS', created_at: 'x' }],
    activity: [
      { id: 2, name: 'Question', created_at: 'x', portfolio_id: 1, portfolio_name: 'CS' },
      { id: 1, name: 'DM', created_at: 'x', portfolio_id: 1, portfolio_name: 'CS' },
    ],
    origin: [
      { id: 1, name: 'E-mail', created_at: 'x' },
      { id: 4, name: 'Twitter', created_at: 'x' },
    ],
  };
  const created: string[] = [];
  const port: CatalogPort = {
    list: async (kind) => [...rows[kind]],
    create: async (kind, name, portfolio) => {
      if (rows[kind].some((r) => r.name === name && (kind !== 'activity' || r.portfolio_id === portfolio?.id))) {
        throw new ConflictError(`a ${kind} named '${name}' already exists`);
      }
      const row: CatalogRow = { id: nextId++, name, created_at: 'x', ...(portfolio ? { portfolio_id: portfolio.id, portfolio_name: portfolio.name } : {}) };
      rows[kind].push(row);
      created.push(`${kind}:${name}${portfolio ? `@${portfolio.name}` : ''}`);
      return row;
    },
  };
  return { port, created };
}

const SECRETS: Secrets = { apiKey: 'key-AAAAAAAA1111', apiSecretKey: 'sec-BBBBBBBB2222', accessToken: 'tok-CCCCCCCC3333', accessTokenSecret: 'tsec-DDDDDDD4444' };
const noPreset: Pick<WizardInput, 'preset' | 'presetSecrets' | 'allowHttp'> = {
  preset: { checked: {}, refs: {} },
  presetSecrets: { values: {}, sources: {} },
  allowHttp: false,
};
const secretSteps = (s: Partial<Secrets>): Step[] => [
  { password: 'API key', answer: s.apiKey ?? '' },
  { password: 'API secret key', answer: s.apiSecretKey ?? '' },
  { password: 'Access token', answer: s.accessToken ?? '' },
  { password: 'Access token secret', answer: s.accessTokenSecret ?? '' },
];

describe('runInteractionWizard', () => {
  it('asks the form in order; "Create new…" makes an activity in a new portfolio; the origin defaults to Twitter', async () => {
    const { port, created } = memoryCatalogs();
    const p = scriptedPrompter([
      { input: 'Name', answer: 'Support' },
      { select: 'Interaction channel', pick: 'Twitter Direct Message' },
      { select: 'X API generation', pick: 'premium Account Activity v1.1 (legacy)' },
      { select: 'Default unit', pick: 'HQ' },
      { select: 'Default group', pick: 'Social' },
      { select: 'Default activity', pick: 'Create new…' },
      { input: 'Name of the new activity', answer: 'Complaint' },
      { select: "Portfolio of the activity 'Complaint'", pick: 'Create new…' },
      { input: 'Name of the new portfolio', answer: 'Social Care' },
      { select: 'Contact origin', pick: '' },
      { confirm: 'Enable interception with Helper', answer: false },
      { input: 'Development environment', answer: 'prod' },
      ...secretSteps(SECRETS),
      { input: 'Callback URL', answer: 'https://h.example.com/' },
    ]);
    const result = await runInteractionWizard({ prompter: p, catalogs: port, nameTaken: async () => undefined }, { identifier: 7, ...noPreset });
    expect(p.remaining()).toEqual([]);
    expect(p.notes[0]).toBe('Identifier: 7 (assigned by omni)');
    expect(created).toEqual(['portfolio:Social Care', 'activity:Complaint@Social Care']);
    expect(result.values).toEqual({
      name: 'Support',
      channel: 'twitter-dm',
      api: 'v1.1',
      unit: { id: 1, name: 'HQ' },
      group: { id: 1, name: 'Social' },
      activity: { id: 11, name: 'Complaint', portfolio: 'Social Care' },
      contactOrigin: { id: 4, name: 'Twitter' },
      helperInterception: false,
      devEnvironment: 'prod',
      callbackUrl: 'https://h.example.com',
    });
    expect(result.secrets).toEqual(SECRETS);
  });

  it('lists activities by portfolio, and offers the list again when a new name is taken', async () => {
    const { port, created } = memoryCatalogs();
    let activityChoices: string[] = [];
    const p = scriptedPrompter([
      { input: 'Name', answer: 'Support' },
      { select: 'Interaction channel', pick: '' },
      { select: 'X API generation', pick: 'premium Account Activity v1.1 (legacy)' },
      { select: 'Default unit', pick: 'Create new…' },
      { input: 'Name of the new unit', answer: 'HQ' },
      { select: 'Default unit', pick: 'HQ' },
      { select: 'Default group', pick: 'Social' },
      { select: 'Default activity', pick: 'CS › DM' },
      { select: 'Contact origin', pick: 'E-mail' },
      { confirm: 'Helper', answer: true },
      { input: 'Development environment', answer: 'prod' },
      ...secretSteps(SECRETS),
      { input: 'Callback URL', answer: 'https://h.example.com' },
    ]);
    const select = p.select.bind(p);
    p.select = async (o) => {
      if (o.message === 'Default activity') activityChoices = o.choices.map((c) => c.name);
      return select(o);
    };
    const result = await runInteractionWizard({ prompter: p, catalogs: port, nameTaken: async () => undefined }, { identifier: 1, ...noPreset });
    expect(activityChoices).toEqual(['CS › DM', 'CS › Question', 'Create new…']);
    expect(created).toEqual([]);
    expect(p.notes).toContain("a unit named 'HQ' already exists; pick it from the list or choose another name");
    expect(result.values).toMatchObject({ unit: { id: 1 }, activity: { id: 1, name: 'DM' }, contactOrigin: { name: 'E-mail' }, helperInterception: true });
  });

  it('skips the steps given as flags or through the environment, and says where they came from', async () => {
    const { port } = memoryCatalogs();
    const p = scriptedPrompter([
      { select: 'Default group', pick: 'Social' },
      { select: 'Default activity', pick: 'CS › DM' },
      { select: 'Contact origin', pick: '' },
      { input: 'Development environment', answer: 'prod' },
      { password: 'Access token secret', answer: SECRETS.accessTokenSecret },
    ]);
    const result = await runInteractionWizard(
      { prompter: p, catalogs: port, nameTaken: async () => undefined },
      {
        identifier: 3,
        preset: { checked: { name: 'Support', channel: 'twitter-dm', api: 'v1.1', helper: false, callbackUrl: 'https://h.example.com' }, refs: { unit: { id: 1, name: 'HQ' } } },
        presetSecrets: {
          values: { apiKey: SECRETS.apiKey, apiSecretKey: SECRETS.apiSecretKey, accessToken: SECRETS.accessToken },
          sources: { apiKey: 'OMNI_TWITTER_API_KEY', apiSecretKey: '--secrets-file', accessToken: '--secrets-file' },
        },
        allowHttp: false,
      },
    );
    expect(p.remaining()).toEqual([]);
    expect(p.notes).toEqual([
      'Identifier: 3 (assigned by omni)',
      'Name: Support (from --name)',
      'Interaction channel: Twitter Direct Message (from --channel)',
      'X API generation: premium Account Activity v1.1 (legacy) (from --api)',
      'Default unit: HQ (from --unit)',
      'Enable interception with Helper: no (from --no-helper)',
      'API key: ********1111 (from OMNI_TWITTER_API_KEY)',
      'API secret key: ********2222 (from --secrets-file)',
      'Access token: ********3333 (from --secrets-file)',
      'Callback URL: https://h.example.com (from --callback-url)',
    ]);
    expect(result.secrets).toEqual(SECRETS);
    expect(p.notes.join('\n')).not.toContain(SECRETS.apiKey);
  });

  it('asks the name again while it is taken', async () => {
    const { port } = memoryCatalogs();
    const p = scriptedPrompter([
      { input: 'Name', answer: 'Taken' },
      { input: 'Name', answer: 'Free' },
      { select: 'Interaction channel', pick: '' },
      { select: 'X API generation', pick: 'premium Account Activity v1.1 (legacy)' },
      { select: 'Default unit', pick: 'HQ' },
      { select: 'Default group', pick: 'Social' },
      { select: 'Default activity', pick: 'CS › DM' },
      { select: 'Contact origin', pick: '' },
      { confirm: 'Helper', answer: false },
      { input: 'Development environment', answer: 'prod' },
      ...secretSteps(SECRETS),
      { input: 'Callback URL', answer: 'https://h.example.com' },
    ]);
    const result = await runInteractionWizard({ prompter: p, catalogs: port, nameTaken: async (n) => (n === 'Taken' ? { field: 'name', code: 'name-taken', value: n, holder: n } : undefined) }, { identifier: 1, ...noPreset });
    expect(p.notes).toContain("an interaction named 'Taken' already exists; choose another name");
    expect(result.values.name).toBe('Free');
  });

  it('on edit, defaults every answer to the current value and keeps credentials left empty', async () => {
    const { port } = memoryCatalogs();
    const current = {
      values: {
        name: 'Support',
        channel: 'twitter-dm' as const,
        api: 'v1.1' as const,
        unit: { id: 1, name: 'HQ' },
        group: { id: 1, name: 'Social' },
        activity: { id: 2, name: 'Question', portfolio: 'CS' },
        contactOrigin: { id: 1, name: 'E-mail' },
        helperInterception: true,
        devEnvironment: 'prod',
        callbackUrl: 'http://localhost:8080', // saved with --allow-http earlier: keeping it stays allowed
      },
      secrets: SECRETS,
    };
    const p = scriptedPrompter([
      { input: 'Name', answer: '' },
      { select: 'Interaction channel', pick: '' },
      { select: 'X API generation', pick: 'premium Account Activity v1.1 (legacy)' },
      { select: 'Default unit', pick: '' },
      { select: 'Default group', pick: '' },
      { select: 'Default activity', pick: '' },
      { select: 'Contact origin', pick: '' },
      { confirm: 'Helper', answer: true },
      { input: 'Development environment', answer: '' },
      { password: 'API key (empty keeps ********1111)', answer: '' },
      { password: 'API secret key (empty keeps ********2222)', answer: '' },
      { password: 'Access token (empty keeps ********3333)', answer: 'tok-NEW-99999999' },
      { password: 'Access token secret (empty keeps ********4444)', answer: '' },
      { input: 'Callback URL', answer: '' },
    ]);
    const result = await runInteractionWizard({ prompter: p, catalogs: port, nameTaken: async () => undefined }, { identifier: 5, current, ...noPreset });
    expect(p.notes[0]).toBe('Identifier: 5 (cannot be changed)');
    expect(result.values).toEqual(current.values);
    expect(result.secrets).toEqual({ accessToken: 'tok-NEW-99999999' });
  });

  it('defaults to the X Activity API and then does not ask for a dev environment label', async () => {
    const { port } = memoryCatalogs();
    const p = scriptedPrompter([
      { input: 'Name', answer: 'Support' },
      { select: 'Interaction channel', pick: '' },
      { select: 'X API generation', pick: '' },
      { select: 'Default unit', pick: 'HQ' },
      { select: 'Default group', pick: 'Social' },
      { select: 'Default activity', pick: 'CS › DM' },
      { select: 'Contact origin', pick: '' },
      { confirm: 'Enable interception with Helper', answer: false },
      ...secretSteps(SECRETS),
      { input: 'Callback URL', answer: 'https://h.example.com' },
    ]);
    const result = await runInteractionWizard({ prompter: p, catalogs: port, nameTaken: async () => undefined }, { identifier: 1, ...noPreset });
    expect(p.remaining()).toEqual([]);
    expect(result.values).toMatchObject({ api: 'activity', devEnvironment: '' });
  });

  it('asks the label for v1.1 and refuses an empty one with the v1.1 problem worded for the prompt', async () => {
    const { port } = memoryCatalogs();
    let refusal: string | true = true;
    const p = scriptedPrompter([
      { input: 'Name', answer: 'Support' },
      { select: 'Interaction channel', pick: '' },
      { select: 'X API generation', pick: 'premium Account Activity v1.1 (legacy)' },
      { select: 'Default unit', pick: 'HQ' },
      { select: 'Default group', pick: 'Social' },
      { select: 'Default activity', pick: 'CS › DM' },
      { select: 'Contact origin', pick: '' },
      { confirm: 'Enable interception with Helper', answer: false },
      { input: 'Development environment', answer: 'prod' },
      ...secretSteps(SECRETS),
      { input: 'Callback URL', answer: 'https://h.example.com' },
    ]);
    const input = p.input.bind(p);
    p.input = async (o) => {
      if (o.message.startsWith('Development environment') && o.validate) refusal = await o.validate('');
      return input(o);
    };
    const result = await runInteractionWizard({ prompter: p, catalogs: port, nameTaken: async () => undefined }, { identifier: 1, ...noPreset });
    expect(result.values).toMatchObject({ api: 'v1.1', devEnvironment: 'prod' });
    expect(refusal).toBe('the premium Account Activity API (v1.1) needs a development environment label; type the "Dev environment label" from Twitter Developer (or press Ctrl-C and choose X\'s current API, activity)');
  });

  it('on edit, switching to activity keeps the stored label and does not ask for it', async () => {
    const { port } = memoryCatalogs();
    const current = {
      values: { name: 'Support', channel: 'twitter-dm' as const, api: 'v1.1' as const, unit: { id: 1, name: 'HQ' }, group: { id: 1, name: 'Social' }, activity: { id: 1, name: 'DM', portfolio: 'CS' }, contactOrigin: { id: 4, name: 'Twitter' }, helperInterception: false, devEnvironment: 'prod', callbackUrl: 'https://h.example.com' },
      secrets: SECRETS,
    };
    const p = scriptedPrompter([
      { input: 'Name', answer: '' },
      { select: 'Interaction channel', pick: '' },
      { select: 'X API generation', pick: 'X Activity API (current)' },
      { select: 'Default unit', pick: '' },
      { select: 'Default group', pick: '' },
      { select: 'Default activity', pick: '' },
      { select: 'Contact origin', pick: '' },
      { confirm: 'Helper', answer: false },
      { password: 'API key (empty keeps ********1111)', answer: '' },
      { password: 'API secret key (empty keeps ********2222)', answer: '' },
      { password: 'Access token (empty keeps ********3333)', answer: '' },
      { password: 'Access token secret (empty keeps ********4444)', answer: '' },
      { input: 'Callback URL', answer: '' },
    ]);
    const result = await runInteractionWizard({ prompter: p, catalogs: port, nameTaken: async () => undefined }, { identifier: 5, current, ...noPreset });
    expect(p.remaining()).toEqual([]);
    expect(result.values).toEqual({ ...current.values, api: 'activity' });
  });
});

describe('the callback URL step', () => {
  const upToCallback = (): Step[] => [
    { input: 'Name', answer: 'Support' },
    { select: 'Interaction channel', pick: '' },
    { select: 'X API generation', pick: 'premium Account Activity v1.1 (legacy)' },
    { select: 'Default unit', pick: 'HQ' },
    { select: 'Default group', pick: 'Social' },
    { select: 'Default activity', pick: '' },
    { select: 'Contact origin', pick: '' },
    { confirm: 'Enable interception with Helper', answer: false },
    { input: 'Development environment', answer: 'prod' },
    ...secretSteps(SECRETS),
  ];

  it('asks about plain http on this machine and returns it allowed; a "no" asks for the URL again', async () => {
    const { port } = memoryCatalogs();
    const p = scriptedPrompter([
      ...upToCallback(),
      { input: 'a local trial: http://localhost:8080', answer: 'http://[::1]:9000' },
      { confirm: 'Allow plain http for [::1]:9000?', answer: false },
      { input: 'Callback URL', answer: 'http://localhost:8080/' },
      { confirm: 'Allow plain http for localhost:8080?', answer: true },
    ]);
    const result = await runInteractionWizard({ prompter: p, catalogs: port, nameTaken: async () => undefined }, { identifier: 1, ...noPreset });
    expect(p.remaining()).toEqual([]);
    expect(p.notes).toContain('then type an https URL');
    expect(result.values.callbackUrl).toBe('http://localhost:8080');
    expect(result.allowHttp).toBe(true);
  });

  it('refuses http elsewhere in place, with the fix worded for a prompt (no flag to pass)', async () => {
    const { port } = memoryCatalogs();
    const p = scriptedPrompter([...upToCallback(), { input: 'Callback URL', answer: 'http://helpdesk.example.com' }]);
    await expect(runInteractionWizard({ prompter: p, catalogs: port, nameTaken: async () => undefined }, { identifier: 1, ...noPreset })).rejects.toThrow(
      'refused: the callback URL must use https (Twitter requires it); type an https URL; plain http is offered only for this machine, e.g. http://localhost:8080 for a local trial',
    );
  });

  it('asks nothing more for https, and keeps http without asking when --allow-http was given', async () => {
    const { port } = memoryCatalogs();
    const https = scriptedPrompter([...upToCallback(), { input: 'Callback URL', answer: 'https://h.example.com' }]);
    expect((await runInteractionWizard({ prompter: https, catalogs: port, nameTaken: async () => undefined }, { identifier: 1, ...noPreset })).allowHttp).toBe(false);
    const flagged = scriptedPrompter([...upToCallback(), { input: 'Callback URL', answer: 'http://10.0.0.5:8080' }]);
    const r = await runInteractionWizard({ prompter: flagged, catalogs: port, nameTaken: async () => undefined }, { identifier: 1, ...noPreset, allowHttp: true });
    expect(r).toMatchObject({ allowHttp: true, values: { callbackUrl: 'http://10.0.0.5:8080' } });
  });
});
