import { describe, expect, it } from 'vitest';
import {
  webhookState,
  type InteractionValues,
  type Secrets,
} from '../../src/interactions/model.js';
import {
  callbackUrlRule,
  devEnvironmentRule,
  envLabelRule,
  flagError,
  interactionProblems,
  nameRule,
  normalizeCallbackUrl,
  parseSecretsJson,
  resolveInteractionInput,
  secretRule,
  secretsFromEnv,
} from '../../src/interactions/rules.js';
import { auditChanges, interactionChanges } from '../../src/interactions/changes.js';
import { problemLine, problemSentence, type Problem } from '../../src/interactions/problems.js';

const secrets: Secrets = { apiKey: 'k1', apiSecretKey: 's1', accessToken: 't1', accessTokenSecret: 'ts1' };

const values: InteractionValues = {
  name: 'Support',
  channel: 'twitter-dm',
  api: 'v1.1',
  unit: { id: 1, name: 'HQ' },
  group: { id: 1, name: 'Social' },
  activity: { id: 1, name: 'DM', portfolio: 'CS' },
  contactOrigin: { id: 4, name: 'Twitter' },
  helperInterception: false,
  devEnvironment: 'prod',
  callbackUrl: 'https://h.example.com',
};

describe('field rules', () => {
  const said = (p: Problem | undefined) => (p ? problemLine(p) : undefined);

  it('accepts ordinary names and refuses empty, all-digit, overlong or control-character ones', () => {
    expect(nameRule('Support DMs')).toBeUndefined();
    expect(nameRule('  ')).toEqual({ field: 'name', code: 'empty' });
    expect(nameRule(' 42 ')).toEqual({ field: 'name', code: 'digits-only', value: '42' });
    expect(said(nameRule('42'))).toMatch(/looks like an identifier; give the interaction a name with letters/);
    expect(said(nameRule('x'.repeat(101)))).toMatch(/at most 100/);
    expect(nameRule('a\tb')?.code).toBe('control-characters');
  });

  it('keeps dev environment labels path-safe', () => {
    expect(envLabelRule('prod_env-2')).toBeUndefined();
    expect(said(envLabelRule(''))).toMatch(/must not be empty/);
    expect(envLabelRule('a/b')).toEqual({ field: 'devEnvironment', code: 'bad-env-label', value: 'a/b' });
    expect(said(envLabelRule('a b'))).toMatch(/letters, digits/);
    expect(said(envLabelRule('x'.repeat(65)))).toMatch(/at most 64/);
  });

  it('refuses empty credentials and credentials with whitespace inside, never repeating the value', () => {
    expect(secretRule('apiKey', 'abc')).toBeUndefined();
    expect(said(secretRule('apiKey', ''))).toMatch(/API key must not be empty/);
    expect(secretRule('accessToken', 'ab cd')).toEqual({ field: 'accessToken', code: 'whitespace' });
    expect(said(secretRule('accessToken', 'ab cd'))).toMatch(/^the Access token contains whitespace/);
    expect(said(secretRule('accessToken', 'ab cd'))).not.toContain('ab cd');
  });

  it('returns a code for each callback URL problem; the fix for http depends on the surface', () => {
    expect(callbackUrlRule('https://h.example.com/', false)).toBeUndefined();
    expect(callbackUrlRule('http://h.example.com', true)).toBeUndefined();
    expect(callbackUrlRule('http://h.example.com', false)?.code).toBe('http-needs-allow-http');
    expect(callbackUrlRule('ftp://h.example.com', true)?.code).toBe('not-https');
    expect(callbackUrlRule('nope', false)?.code).toBe('not-a-url');
    expect(callbackUrlRule('https://h.example.com/?a=1', false)?.code).toBe('query-or-fragment');
    expect(callbackUrlRule('https://u:p@h.example.com', false)?.code).toBe('has-credentials');
    const http = callbackUrlRule('http://h.example.com', false)!;
    const flags = flagError(http);
    expect(flags.message).toBe(`--callback-url: ${problemSentence(http)}`);
    expect(flags.hint).toBe('pass --allow-http for a local set-up');
  });

  it('checks every given value at once, in the form order', () => {
    const problems = interactionProblems({ name: '42', channel: 'fax', devEnvironment: 'a b', callbackUrl: 'http://x' }, { apiKey: 'a b' }, { allowHttp: false });
    expect(problems.map((p) => `${p.field}:${p.code}`)).toEqual([
      'name:digits-only',
      'channel:unknown-channel',
      'devEnvironment:bad-env-label',
      'apiKey:whitespace',
      'callbackUrl:http-needs-allow-http',
    ]);
    expect(interactionProblems({}, {}, { allowHttp: false })).toEqual([]);
  });

  it('stores callback URLs without trailing slashes', () => {
    expect(normalizeCallbackUrl(' https://h.example.com/ ')).toBe('https://h.example.com');
    expect(normalizeCallbackUrl('https://h.example.com/omni//')).toBe('https://h.example.com/omni');
    expect(normalizeCallbackUrl('https://h.example.com:8443')).toBe('https://h.example.com:8443');
  });

  it('reads only set, non-empty credential variables', () => {
    expect(secretsFromEnv({ OMNI_TWITTER_API_KEY: ' k ', OMNI_TWITTER_API_SECRET: '', OMNI_TWITTER_ACCESS_TOKEN: 't' })).toEqual({ apiKey: 'k', accessToken: 't' });
  });

  it('tells the webhook state from the stored columns', () => {
    expect(webhookState({ webhook_id: null, webhook_valid: null })).toBe('not registered');
    expect(webhookState({ webhook_id: '1', webhook_valid: null })).toBe('not checked');
    expect(webhookState({ webhook_id: '1', webhook_valid: 1 })).toBe('valid');
    expect(webhookState({ webhook_id: '1', webhook_valid: 0 })).toBe('invalid');
  });
});

describe('parseSecretsJson', () => {
  it('takes any subset of the four keys, trimmed', () => {
    expect(parseSecretsJson('{"apiKey": " k ", "accessTokenSecret": "s"}', 'f')).toEqual({ apiKey: 'k', accessTokenSecret: 's' });
  });

  it('refuses non-JSON, non-objects, unknown keys and non-strings without echoing the content', () => {
    expect(() => parseSecretsJson('apiKey=supersecret', 'f')).toThrow(/^f is not valid JSON$/);
    expect(() => parseSecretsJson('["supersecret"]', 'f')).toThrow(/must hold a JSON object/);
    expect(() => parseSecretsJson('{"apikey": "supersecret"}', 'f')).toThrow(/unknown key 'apikey'/);
    expect(() => parseSecretsJson('{"apiKey": 12345}', 'f')).toThrow(/apiKey must be a string/);
    try {
      parseSecretsJson('{"apiKey": "super secret"}', 'f');
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain('super secret');
      expect((err as { exitCode: number }).exitCode).toBe(2);
    }
  });
});

describe('resolveInteractionInput', () => {
  it('lists every missing value of a creation in the form order, as flags and variables', () => {
    const { missing } = resolveInteractionInput({ api: 'v1.1' }, {}, { mode: 'create', allowHttp: false, hasDefaultOrigin: false });
    expect(missing).toEqual([
      '--name', '--unit', '--group', '--activity', '--origin', '--env-label',
      'OMNI_TWITTER_API_KEY (or --secrets-file)', 'OMNI_TWITTER_API_SECRET (or --secrets-file)',
      'OMNI_TWITTER_ACCESS_TOKEN (or --secrets-file)', 'OMNI_TWITTER_ACCESS_TOKEN_SECRET (or --secrets-file)',
      '--callback-url',
    ]);
  });

  it('asks --env-label only for v1.1: the default generation (activity) and v2 need none', () => {
    for (const api of [undefined, 'activity', 'v2']) {
      const { missing, values: v } = resolveInteractionInput(api === undefined ? {} : { api }, {}, { mode: 'create', allowHttp: false, hasDefaultOrigin: true });
      expect(missing).not.toContain('--env-label');
      expect(v.api).toBe(api);
    }
    expect(() => resolveInteractionInput({ api: 'v3' }, {}, { mode: 'create', allowHttp: false })).toThrow("--api: unknown X API generation 'v3'; known: activity, v2, v1.1");
    expect(() => resolveInteractionInput({ api: 'v1.1', envLabel: ' ' }, {}, { mode: 'create', allowHttp: false })).toThrow('--env-label: the premium Account Activity API (v1.1) needs a development environment label');
    expect(resolveInteractionInput({ api: 'activity', envLabel: '' }, {}, { mode: 'update', allowHttp: false }).values.devEnvironment).toBe('');
  });

  it('holds the label to the generation: devEnvironmentRule and the pair in interactionProblems', () => {
    expect(devEnvironmentRule('v1.1', '')).toEqual({ field: 'devEnvironment', code: 'env-label-needs-v1.1' });
    expect(devEnvironmentRule('activity', '')).toBeUndefined();
    expect(devEnvironmentRule('v2', 'a/b')).toMatchObject({ code: 'bad-env-label' });
    expect(interactionProblems({ api: 'v1.1', devEnvironment: '' }, {}, { allowHttp: false }).map((p) => p.code)).toEqual(['env-label-needs-v1.1']);
    expect(interactionProblems({ api: 'activity', devEnvironment: '' }, {}, { allowHttp: false })).toEqual([]);
    expect(interactionProblems({ api: 'v4' }, {}, { allowHttp: false }).map((p) => p.code)).toEqual(['unknown-api']);
    const p = { field: 'devEnvironment', code: 'env-label-needs-v1.1' } as const;
    expect(flagError(p).message).toBe('--env-label: the premium Account Activity API (v1.1) needs a development environment label');
    expect(flagError(p).hint).toMatch(/--api activity/);
  });

  it('needs nothing more when everything is given, and normalizes what it checked', () => {
    const r = resolveInteractionInput(
      { name: ' Support ', unit: ' HQ ', group: '1', activity: 'DM', envLabel: 'prod', callbackUrl: 'https://h.example.com/', helper: true },
      secrets,
      { mode: 'create', allowHttp: false, hasDefaultOrigin: true },
    );
    expect(r.missing).toEqual([]);
    expect(r.values).toEqual({ name: 'Support', unit: 'HQ', group: '1', activity: 'DM', devEnvironment: 'prod', callbackUrl: 'https://h.example.com', helper: true });
  });

  it('names the flag of an invalid value, and reports nothing missing on update', () => {
    const opts = { mode: 'update' as const, allowHttp: false };
    expect(resolveInteractionInput({}, {}, opts)).toEqual({ values: {}, missing: [] });
    expect(() => resolveInteractionInput({ callbackUrl: 'http://x' }, {}, opts)).toThrow(/^--callback-url: the callback URL must use https/);
    expect(resolveInteractionInput({ callbackUrl: 'http://x' }, {}, { ...opts, allowHttp: true }).values.callbackUrl).toBe('http://x');
    expect(() => resolveInteractionInput({ channel: 'sms' }, {}, opts)).toThrow(/^--channel: unknown channel 'sms'/);
    expect(() => resolveInteractionInput({ unit: ' ' }, {}, opts)).toThrow(/^--unit must not be empty/);
    expect(() => resolveInteractionInput({}, { apiSecretKey: 'a b' }, opts)).toThrow(/^OMNI_TWITTER_API_SECRET \(or --secrets-file\): /);
  });
});

describe('interactionChanges and auditChanges', () => {
  it('lists only what differs, in form order, secrets without values', () => {
    const after: InteractionValues = { ...values, name: 'Support DMs', group: { id: 2, name: 'Tier 2' }, helperInterception: true };
    const changes = interactionChanges(values, after, { apiKey: 'k1', accessToken: 't2' }, secrets);
    expect(changes.map((c) => c.field)).toEqual(['name', 'group', 'helperInterception', 'accessToken']);
    expect(auditChanges(changes, 'update')).toEqual({
      name: { from: 'Support', to: 'Support DMs' },
      group: { from: 'Social', to: 'Tier 2' },
      helperInterception: { from: false, to: true },
      accessToken: 'changed',
    });
    expect(JSON.stringify(changes)).not.toContain('t2');
  });

  it('compares catalog entries by id and reports no change for equal values', () => {
    const renamedView = { ...values, unit: { id: 1, name: 'HQ (renamed elsewhere)' } };
    expect(interactionChanges(values, renamedView, {}, secrets)).toEqual([]);
  });

  it('records every field of a creation, secrets as "set"', () => {
    const audit = auditChanges(interactionChanges(undefined, values, secrets), 'create');
    expect(audit).toEqual({
      name: 'Support', channel: 'twitter-dm', api: 'v1.1', unit: 'HQ', group: 'Social', activity: 'DM', contactOrigin: 'Twitter',
      helperInterception: false, devEnvironment: 'prod', apiKey: 'set', apiSecretKey: 'set', accessToken: 'set',
      accessTokenSecret: 'set', callbackUrl: 'https://h.example.com',
    });
    expect(Object.keys(audit)).toEqual(['name', 'channel', 'api', 'unit', 'group', 'activity', 'contactOrigin', 'helperInterception', 'devEnvironment', 'apiKey', 'apiSecretKey', 'accessToken', 'accessTokenSecret', 'callbackUrl']);
  });
});

describe('isLoopbackUrl', () => {
  it('knows this machine (localhost, 127.0.0.0/8, ::1) and nothing else', async () => {
    const { isLoopbackUrl } = await import('../../src/interactions/rules.js');
    for (const u of ['http://localhost:8080', 'http://LOCALHOST', 'http://omni.localhost:3000/', 'http://127.0.0.1:8080', 'http://127.1.2.3', 'http://[::1]:8080']) {
      expect(isLoopbackUrl(u), u).toBe(true);
    }
    for (const u of ['http://example.com', 'http://10.0.0.1', 'http://localhost.example.com', 'http://127.0.0.1.nip.io', 'not a url', '']) {
      expect(isLoopbackUrl(u), u).toBe(false);
    }
  });
});
