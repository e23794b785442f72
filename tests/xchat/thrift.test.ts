import { describe, expect, it } from 'vitest';
import { decodeMessageEvent, decodeStruct, fromBase64, ThriftDecodeError, TType } from '../../src/xchat/thrift.js';
import { boolField, encodeMessageEvent, encodeStruct, stringField, structField } from '../support/xchat-events.js';

const createEvent = encodeStruct([stringField(100, new Uint8Array([1, 2, 3])), stringField(101, '1700000000123'), boolField(102, true)]);

function sampleEvent(): string {
  return encodeMessageEvent({
    sequenceId: '1700000000000001',
    messageId: '6a815830-828c-4e06-a3f7-cf6074f002da',
    senderId: '42',
    conversationId: '42:1500',
    conversationToken: 'tok',
    createdAtMsec: '1700000000000',
    detail: { messageCreate: createEvent },
    signature: { signature: 'c2ln', public_key_version: '17', signature_version: '7', signing_public_key: 'spk' },
  });
}

describe('Thrift binary MessageEvent', () => {
  it('reads back the ids, the key version and the signature a MessageEvent carries', () => {
    expect(decodeMessageEvent(Buffer.from(sampleEvent(), 'base64'))).toEqual({
      sequenceId: '1700000000000001',
      messageId: '6a815830-828c-4e06-a3f7-cf6074f002da',
      senderId: '42',
      conversationId: '42:1500',
      conversationToken: 'tok',
      createdAtMsec: '1700000000000',
      detail: 'messageCreate',
      conversationKeyVersion: '1700000000123',
      signature: { signature: 'c2ln', publicKeyVersion: '17', signatureVersion: '7', signingPublicKey: 'spk' },
    });
  });

  it('names the key version of a key change and the kind of other details', () => {
    const keyChange = encodeStruct([structField(3, encodeStruct([stringField(1, '99'), boolField(5, false)]))]);
    const ev = encodeMessageEvent({
      sequenceId: '1',
      messageId: 'm',
      senderId: '1500',
      conversationId: '42:1500',
      createdAtMsec: '1',
      detail: { encodedDetail: keyChange },
    });
    expect(decodeMessageEvent(Buffer.from(ev, 'base64'))).toMatchObject({ detail: 'conversationKeyChange', conversationKeyVersion: '99' });
    const typing = encodeStruct([structField(6, encodeStruct([stringField(1, '42:1500')]))]);
    const t = encodeMessageEvent({ sequenceId: '2', messageId: 'n', senderId: '42', conversationId: '42:1500', createdAtMsec: '2', detail: { encodedDetail: typing } });
    const typingFields = decodeMessageEvent(Buffer.from(t, 'base64'));
    expect(typingFields.detail).toBe('messageTyping');
    expect(typingFields.signature).toBeUndefined();
    const future = encodeStruct([structField(77, encodeStruct([]))]);
    const u = encodeMessageEvent({ sequenceId: '3', messageId: 'o', senderId: '42', conversationId: '42:1500', createdAtMsec: '3', detail: { encodedDetail: future } });
    expect(decodeMessageEvent(Buffer.from(u, 'base64')).detail).toBe('unknown');
  });

  it('skips over fields of every type it does not use', () => {
    const i64 = Buffer.from([TType.i64, 0, 20, 0, 0, 0, 0, 0, 0, 0, 7]);
    const list = Buffer.from([TType.list, 0, 21, TType.i32, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);
    const map = Buffer.from([TType.map, 0, 22, TType.string, TType.bool, 0, 0, 0, 1, 0, 0, 0, 1, 0x61, 1]);
    const body = Buffer.concat([i64, list, map, Buffer.from([TType.stop])]);
    const s = decodeStruct(body);
    expect(s.get(20)).toBe(7n);
    expect(s.get(21)).toEqual([1, 2]);
    expect([...(s.get(22) as Map<unknown, unknown>).values()]).toEqual([true]);
  });

  it('throws ThriftDecodeError on truncated, trailing, unknown-type and oversized input', () => {
    const full = Buffer.from(sampleEvent(), 'base64');
    for (const bad of [
      full.subarray(0, full.length - 1),
      Buffer.concat([full, Buffer.from([0])]),
      Buffer.from([99, 0, 1]),
      Buffer.from([TType.list, 0, 1, TType.i32, 0x7f, 0xff, 0xff, 0xff]),
      Buffer.from([TType.string, 0, 1, 0xff, 0xff, 0xff, 0xff]),
      Buffer.alloc(0),
    ]) {
      expect(() => decodeMessageEvent(bad)).toThrow(ThriftDecodeError);
    }
    // A union with two members is not a MessageEventDetail.
    const two = encodeStruct([structField(7, encodeStruct([structField(1, encodeStruct([])), structField(3, encodeStruct([]))]))]);
    expect(() => decodeMessageEvent(two)).toThrow(/union but has 2 members/);
    // A string field that holds an i32 is refused, not coerced.
    expect(() => decodeMessageEvent(Buffer.from([TType.i32, 0, 3, 0, 0, 0, 1, 0]))).toThrow(/field 3 is not a string/);
  });

  it('decodes base64 strictly', () => {
    expect(fromBase64('AAEC')).toEqual(new Uint8Array([0, 1, 2]));
    expect(fromBase64('AAE=')).toEqual(new Uint8Array([0, 1]));
    expect(fromBase64('not base64!')).toBeUndefined();
    expect(fromBase64('')).toBeUndefined();
    expect(fromBase64('A')).toBeUndefined();
  });
});
