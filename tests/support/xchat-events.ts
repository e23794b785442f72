// X's server side of X Chat, for the fake X: writes Thrift-binary `MessageEvent`s (chat-xdk's
// thrift/event.thrift) around what a client signed, the way X builds `encoded_event`. omni only reads
// these (src/xchat/thrift.ts); the writer lives here because only the fake builds them.
import { decodeStruct, TType } from '../../src/xchat/thrift.js';

type Field = { id: number; type: number; bytes: Buffer };

function header(type: number, id: number): Buffer {
  const b = Buffer.alloc(3);
  b.writeUInt8(type, 0);
  b.writeInt16BE(id, 1);
  return b;
}

export function stringField(id: number, value: string | Uint8Array): Field {
  const body = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  const len = Buffer.alloc(4);
  len.writeInt32BE(body.length);
  return { id, type: TType.string, bytes: Buffer.concat([len, body]) };
}

/** A struct field whose body is an already encoded struct (fields + stop byte). */
export function structField(id: number, encodedStruct: Uint8Array): Field {
  return { id, type: TType.struct, bytes: Buffer.from(encodedStruct) };
}

export function boolField(id: number, value: boolean): Field {
  return { id, type: TType.bool, bytes: Buffer.from([value ? 1 : 0]) };
}

export function encodeStruct(fields: readonly (Field | undefined)[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of fields) if (f) parts.push(header(f.type, f.id), f.bytes);
  parts.push(Buffer.from([TType.stop]));
  return Buffer.concat(parts);
}

export interface EventSignature {
  signature: string;
  public_key_version: string;
  signature_version: string;
  signing_public_key?: string | undefined;
}

export function encodeSignature(sig: EventSignature): Buffer {
  return encodeStruct([
    stringField(1, sig.signature),
    stringField(2, sig.public_key_version),
    stringField(3, sig.signature_version),
    sig.signing_public_key === undefined ? undefined : stringField(4, sig.signing_public_key),
  ]);
}

/** Reads the `encoded_message_event_signature` a client sends (a `MessageEventSignature` struct). */
export function decodeSignature(b64: string): EventSignature {
  const s = decodeStruct(Buffer.from(b64, 'base64'));
  const text = (id: number): string => {
    const v = s.get(id);
    if (!(v instanceof Uint8Array)) throw new Error(`MessageEventSignature field ${id} is missing`);
    return Buffer.from(v).toString('utf8');
  };
  return { signature: text(1), public_key_version: text(2), signature_version: text(3) };
}

export interface MessageEventInput {
  sequenceId: string;
  messageId: string;
  senderId: string;
  /** `lo:hi` */
  conversationId: string;
  conversationToken?: string | undefined;
  createdAtMsec: string;
  /** A message: the client's `encoded_message_create_event` (a MessageCreateEvent struct), or a key
   *  change: the client's `encoded_message_event_detail` (a whole MessageEventDetail union). */
  detail: { messageCreate: Uint8Array } | { encodedDetail: Uint8Array };
  signature?: EventSignature | undefined;
}

/** The `MessageEvent` X stores and delivers as `encoded_event` (base64). */
export function encodeMessageEvent(e: MessageEventInput): string {
  const detail =
    'messageCreate' in e.detail ? encodeStruct([structField(1, e.detail.messageCreate)]) : Buffer.from(e.detail.encodedDetail);
  return encodeStruct([
    stringField(1, e.sequenceId),
    stringField(2, e.messageId),
    stringField(3, e.senderId),
    stringField(4, e.conversationId),
    e.conversationToken === undefined ? undefined : stringField(5, e.conversationToken),
    stringField(6, e.createdAtMsec),
    structField(7, detail),
    e.signature === undefined ? undefined : structField(9, encodeSignature(e.signature)),
  ]).toString('base64');
}
