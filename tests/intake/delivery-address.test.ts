// The listener's main thread reads whose a delivery is from a few members (readDeliveryAddress)
// instead of parsing it whole. Whatever it answers must be what the whole parse answers; when it
// cannot tell, it says so (undefined) and the whole parse decides.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { addressKey, deliveryAddress, DeliveryParseError, parseDelivery, parseDeliveryAddress, readDeliveryAddress } from '../../src/intake/parse.js';
import { objectMembers } from '../../src/intake/json-scan.js';

const FIXTURES = new URL('../fixtures/twitter/', import.meta.url);
const bytes = (s: string) => Buffer.from(s, 'utf8');
const full = (s: string) => parseDeliveryAddress(s);

/** The scan answers, and answers what the whole parse answers. */
function agrees(text: string): void {
  const scanned = readDeliveryAddress(bytes(text));
  expect(scanned, text.slice(0, 120)).toBeDefined();
  expect(scanned).toEqual(full(text));
}

describe('reading the address of a delivery without parsing its events', () => {
  it('agrees with the whole parse on every recorded payload, compact or pretty-printed', () => {
    const files = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(9);
    for (const file of files) {
      const text = fs.readFileSync(new URL(file, FIXTURES), 'utf8');
      agrees(text);
      agrees(JSON.stringify(JSON.parse(text)));
    }
  });

  it('reads each envelope: Account Activity, X Activity, both revokes', () => {
    expect(readDeliveryAddress(bytes('{"for_user_id":"123","direct_message_events":[]}'))).toEqual({ forUserId: '123', account: '123' });
    expect(readDeliveryAddress(bytes('{"user_event":{"revoke":{"date_time":"x","source":{"user_id":"77"}}}}'))).toEqual({ forUserId: null, account: '77' });
    expect(readDeliveryAddress(bytes('{"data":{"event_type":"dm.received","filter":{"user_id":"5"},"payload":{"direct_message_events":[]}}}'))).toEqual({
      eventType: 'dm.received',
      forUserId: '5',
      account: '5',
    });
    expect(readDeliveryAddress(bytes('{"data":{"payload":{"user_id":"9"},"event_type":"oauth.revoke"}}'))).toEqual({ eventType: 'oauth.revoke', forUserId: null, account: '9' });
  });

  it('never takes a for_user_id that is not a member of the delivery itself', () => {
    // In a DM text, in a user object, in an event: only the top-level member counts.
    agrees('{"direct_message_events":[{"for_user_id":"666","text":"\\"for_user_id\\":\\"666\\""}],"users":{"for_user_id":{"for_user_id":"666"}}}');
    agrees('{"direct_message_events":[{"message_create":{"message_data":{"text":"a } ] [ { \\\\"}}}],"for_user_id":"123"}');
    agrees('{"data":{"event_type":"dm.received","payload":{"filter":{"user_id":"666"}},"filter":{"user_id":"5"}}}');
    expect(readDeliveryAddress(bytes('{"direct_message_events":[{"for_user_id":"666"}]}'))).toEqual({ forUserId: null, account: null });
  });

  it('takes the last of a repeated member, as JSON.parse does', () => {
    agrees('{"for_user_id":"1","for_user_id":"2"}');
    agrees('{"data":{"event_type":"dm.sent"},"data":7,"for_user_id":"3"}');
    agrees('{"data":{"event_type":"dm.sent","filter":{"user_id":"1"},"filter":{"user_id":"4"}}}');
    expect(full('{"for_user_id":"1","for_user_id":"2"}').forUserId).toBe('2');
  });

  it('reads ids given as numbers exactly, and refuses ids of the wrong shape as the parser does', () => {
    agrees('{"for_user_id":1063077238797725701}');
    expect(readDeliveryAddress(bytes('{"for_user_id":1063077238797725701}'))!.forUserId).toBe('1063077238797725701');
    agrees('{"for_user_id":["222"]}');
    agrees('{"for_user_id":null}');
    agrees('{"for_user_id":"abc"}');
    agrees('{"data":{"event_type":"dm.received","filter":{"user_id":true}}}');
    agrees('{"data":{"event_type":5,"filter":{"user_id":"1"}},"for_user_id":"2"}');
    agrees('{"data":"x"}');
    agrees('{}');
    agrees(' \n\t{ "for_user_id" : "12" , "x" : [ 1 , 2.5e3 , true , null ] } \r\n');
    agrees('{"for_user_id":"12","text":"é ✓ 👍 \\u00e9 \\\\"}');
    // Values with escapes or beyond ASCII are read by the parser, not by the plain-string shortcut.
    agrees('{"for_user_id":"\\u0031\\u0032"}');
    expect(readDeliveryAddress(bytes('{"for_user_id":"\\u0031\\u0032"}'))!.forUserId).toBe('12');
    agrees('{"for_user_id":"１２３"}');
    agrees('{"data":{"event_type":"dm.r\\u0065ceived","filter":{"user_id":"5"}}}');
  });

  it('says it cannot tell, rather than guess, when a name is escaped or the text is no object', () => {
    for (const text of [
      '{"for_user_\\u0069d":"666"}', // an escaped name may spell for_user_id
      '\ufeff{"for_user_id":"1"}',
      'not json',
      '[1,2]',
      '{"for_user_id":"1"',
      '{"for_user_id":"1"} trailing',
      '{"for_user_id":"1",}',
      '{"for_user_id" "1"}',
      '{"a":"unclosed}',
      '{"a":[1,2}',
      '{"for_user_id":tru}',
      '',
    ]) {
      expect(readDeliveryAddress(bytes(text)), text).toBeUndefined();
    }
    // ... and then the whole parse decides, with its own error when there is one.
    expect(deliveryAddress(bytes('{"for_user_\\u0069d":"666"}')).forUserId).toBe('666');
    expect(() => deliveryAddress(bytes('not json'))).toThrow(DeliveryParseError);
  });

  it('leaves what it skips to the parser: invalid JSON inside the events is found by the whole parse', () => {
    const text = '{"for_user_id":"1","direct_message_events":[1,,2]}';
    expect(readDeliveryAddress(bytes(text))).toEqual({ forUserId: '1', account: '1' });
    expect(() => parseDelivery(bytes(text))).toThrow(DeliveryParseError);
  });

  it('gives the writer a key of what was checked, the same from the address and from the parsed delivery', () => {
    for (const file of fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.json'))) {
      const raw = fs.readFileSync(new URL(file, FIXTURES));
      expect(addressKey(parseDelivery(raw))).toBe(addressKey(deliveryAddress(raw)));
    }
    expect(addressKey({ forUserId: '1' })).not.toBe(addressKey({ forUserId: '2' }));
    expect(addressKey({ forUserId: null, badForUserId: 'x' })).not.toBe(addressKey({ forUserId: null }));
  });

  it('finds a member only at the level it was asked for, with its exact span', () => {
    const text = bytes('{"a":{"b":1},"b":[{"b":2}],"c":"b"}');
    const m = objectMembers(text, ['b', 'c'] as const)!;
    expect(text.toString('utf8', m.b!.start, m.b!.end)).toBe('[{"b":2}]');
    expect(text.toString('utf8', m.c!.start, m.c!.end)).toBe('"b"');
    expect(objectMembers(text, ['b'] as const, 5, 12)).toEqual({ b: { start: 10, end: 11 } });
  });
});
