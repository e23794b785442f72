// Credentials shared by the fake Twitter and the seeded interaction, so tests read as "the same app".
import { TEST_SECRETS } from './seed.js';
import type { FakeApp, FakeUser } from './fake-twitter.js';

/** Above 2^53 on purpose: a client that parses ids as numbers gets it wrong. */
export const ACCOUNT_ID = '1234567890123456789';
export const ACCOUNT_SCREEN_NAME = 'acme_support';

export function testApp(overrides: Partial<FakeApp> = {}): FakeApp {
  return { consumerKey: TEST_SECRETS.apiKey, consumerSecret: TEST_SECRETS.apiSecretKey, envs: ['dev', 'prod'], ...overrides };
}

export function testUser(overrides: Partial<FakeUser> = {}): FakeUser {
  return {
    accessToken: TEST_SECRETS.accessToken,
    accessTokenSecret: TEST_SECRETS.accessTokenSecret,
    userId: ACCOUNT_ID,
    screenName: ACCOUNT_SCREEN_NAME,
    name: 'ACME Support',
    ...overrides,
  };
}
