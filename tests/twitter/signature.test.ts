import { describe, expect, it } from 'vitest';
import { crcResponseToken, signBody, verifySignature } from '../../src/twitter/signature.js';
import { fixtureBytes } from '../support/fixtures.js';

describe('Twitter HMAC', () => {
  it('answers the documented CRC vectors', () => {
    expect(crcResponseToken('DDD', 'some_random')).toBe('sha256=VE19eUk6krbdSqWPdvH71xtFhApBAU81uPW3UT65vOs=');
    expect(crcResponseToken('z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu', '9b4507b3-9040-4669-9ca3-6b94edb50553')).toBe(
      'sha256=Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8=',
    );
  });

  it('signs the autohook vector', () => {
    expect(signBody('test', '{"test_number":1,"test_string":"two"}')).toBe('sha256=YWHphPn/JFq43jkF0y4/w8R/SelmLjvpunhVFY8JhlI=');
  });

  it('verifies the recorded zammad deliveries over their raw bytes', () => {
    const cases = [
      ['v1-dm-echo.zammad1.body.json', 'sha256=xXu7qrPhqXfo8Ot14c0si9HrdQdBNru5fkSdoMZi+Ms='],
      ['v1-dm-inbound-text.zammad3.body.json', 'sha256=OTguUdchBdxNal/csZsRkytKL5srrUuezZ3hp/2E404='],
    ] as const;
    for (const [file, sig] of cases) {
      const raw = fixtureBytes(file);
      expect(verifySignature('DDD', raw, sig)).toBe(true);
      expect(verifySignature('DDE', raw, sig)).toBe(false);
      // A re-serialised body is different bytes, so the signature must not hold for it.
      const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8')), null, 1));
      expect(verifySignature('DDD', reserialised, sig)).toBe(false);
    }
  });

  it('rejects missing, truncated and differently sized signatures', () => {
    const raw = Buffer.from('{}');
    const good = signBody('k', raw);
    expect(verifySignature('k', raw, good)).toBe(true);
    expect(verifySignature('k', raw, undefined)).toBe(false);
    expect(verifySignature('k', raw, '')).toBe(false);
    expect(verifySignature('k', raw, good.slice(0, -1))).toBe(false);
    expect(verifySignature('k', raw, good + 'A')).toBe(false);
  });
});
