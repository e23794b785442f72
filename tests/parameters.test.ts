import { describe, expect, it } from 'vitest';
import { PARAMS, PARAM_NUMBERS, checkParamValue, paramDef, paramsReferencing, parseParamNumber, type ParamDef } from '../src/parameters.js';

const def = (n: number): ParamDef => {
  const d = paramDef(n);
  if (!d) throw new Error(`no parameter ${n}`);
  return d;
};

describe('parameter definitions', () => {
  it('are exactly the 14 numbers the 4biz Twitter DM procedure names, chat before helper', () => {
    expect(PARAM_NUMBERS).toEqual([118, 315, 316, 317, 388, 389, 390, 447, 402, 423, 441, 442, 450, 453]);
    expect(PARAMS.filter((p) => p.group === 'helper').map((p) => p.number)).toEqual([402, 423, 441, 442, 450, 453]);
  });

  it('parses typed numbers and rejects unknown ones', () => {
    expect(parseParamNumber(' 450 ')?.name).toBe('Enable Helper for end users');
    expect(parseParamNumber('999')).toBeUndefined();
    expect(parseParamNumber('abc')).toBeUndefined();
    expect(parseParamNumber('450.0')).toBeUndefined();
  });

  it('knows which parameters reference each catalog', () => {
    expect(paramsReferencing('contract')).toEqual([118]);
    expect(paramsReferencing('origin')).toEqual([315]);
    expect(paramsReferencing('activity')).toEqual([317]);
    expect(paramsReferencing('group')).toEqual([389]);
    expect(paramsReferencing('unit')).toEqual([390]);
    expect(paramsReferencing('portfolio')).toEqual([]);
  });
});

describe('checkParamValue', () => {
  it('Y/N: takes Y or N in either case and stores upper case', () => {
    for (const n of [316, 423, 450]) {
      expect(checkParamValue(def(n), 'y')).toEqual({ status: 'ok', value: 'Y' });
      expect(checkParamValue(def(n), ' N ')).toEqual({ status: 'ok', value: 'N' });
      for (const bad of ['yes', 'no', '1', 'true', 'YN']) {
        expect(checkParamValue(def(n), bad)).toMatchObject({ status: 'invalid', message: expect.stringContaining('is not Y or N') });
      }
    }
  });

  it('catalog: asks for a lookup of the trimmed id or name, refuses empty', () => {
    expect(checkParamValue(def(118), ' Standard support ')).toEqual({ status: 'lookup', catalog: 'contract', ref: 'Standard support' });
    expect(checkParamValue(def(315), '4')).toEqual({ status: 'lookup', catalog: 'origin', ref: '4' });
    expect(checkParamValue(def(317), 'DM')).toEqual({ status: 'lookup', catalog: 'activity', ref: 'DM' });
    expect(checkParamValue(def(389), 'Social')).toEqual({ status: 'lookup', catalog: 'group', ref: 'Social' });
    expect(checkParamValue(def(390), 'HQ')).toEqual({ status: 'lookup', catalog: 'unit', ref: 'HQ' });
    expect(checkParamValue(def(390), '  ')).toMatchObject({ status: 'invalid', message: expect.stringContaining('id or name of an existing unit') });
  });

  it('integer ids: positive integers only, normalised', () => {
    for (const n of [388, 447]) {
      expect(checkParamValue(def(n), '12')).toEqual({ status: 'ok', value: '12' });
      expect(checkParamValue(def(n), '007')).toEqual({ status: 'ok', value: '7' });
      for (const bad of ['0', '000', '-1', '+5', '1.5', '1e3', '0x10', 'abc', '', '9007199254740993']) {
        expect(checkParamValue(def(n), bad).status, bad).toBe('invalid');
      }
    }
  });

  it('URLs: http(s) only; 441 and 442 warn, not fail, off their conventional suffix', () => {
    expect(checkParamValue(def(402), 'https://helper.example.com/')).toEqual({ status: 'ok', value: 'https://helper.example.com/' });
    expect(checkParamValue(def(402), 'http://10.0.0.5:5005')).toEqual({ status: 'ok', value: 'http://10.0.0.5:5005' });
    for (const bad of ['helper.example.com', 'ftp://helper.example.com/', 'not a url', '', 'javascript:alert(1)']) {
      expect(checkParamValue(def(402), bad).status, bad).toBe('invalid');
    }
    expect(checkParamValue(def(441), 'https://bot.example.com/webhooks/rest/webhook')).toEqual({
      status: 'ok',
      value: 'https://bot.example.com/webhooks/rest/webhook',
    });
    expect(checkParamValue(def(441), 'https://bot.example.com/chat')).toMatchObject({
      status: 'ok',
      value: 'https://bot.example.com/chat',
      warning: expect.stringContaining('/webhooks/rest/webhook'),
    });
    expect(checkParamValue(def(442), 'https://bot.example.com/conversations/')).toEqual({ status: 'ok', value: 'https://bot.example.com/conversations/' });
    expect(checkParamValue(def(442), 'https://bot.example.com/conversations')).toMatchObject({ warning: expect.stringContaining('/conversations/') });
    expect(checkParamValue(def(442), 'mailto:x@example.com').status).toBe('invalid');
  });

  it('text: non-empty, trimmed, no longer than a Direct Message', () => {
    expect(checkParamValue(def(453), '  Type menu to see the options.  ')).toEqual({ status: 'ok', value: 'Type menu to see the options.' });
    expect(checkParamValue(def(453), '   ').status).toBe('invalid');
    expect(checkParamValue(def(453), '😀'.repeat(10_000)).status).toBe('ok'); // counted in characters, not UTF-16 units
    expect(checkParamValue(def(453), 'x'.repeat(10_001))).toMatchObject({ status: 'invalid', message: expect.stringContaining('10001 characters') });
  });

  it('refuses an empty value of any kind and says how to clear one', () => {
    for (const p of PARAMS) {
      expect(checkParamValue(p, ' '), String(p.number)).toMatchObject({ status: 'invalid', hint: `to clear it: omni param unset ${p.number}` });
    }
  });

  it('names the parameter in every refusal', () => {
    expect(checkParamValue(def(450), 'maybe')).toMatchObject({ message: expect.stringMatching(/^parameter 450 \(Enable Helper for end users\)/) });
  });
});
