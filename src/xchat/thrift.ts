// Reads the Thrift binary protocol X uses for X Chat events (`encoded_event`: a `MessageEvent` as laid
// out in chat-xdk's thrift/event.thrift). omni never builds these events, X's server does; omni reads
// the ids, the sender and the key version out of them before it asks the SDK to verify and decrypt, so
// that a refusal can name the event and its cause. Pure: no I/O, no SDK.

/** Thrift binary protocol type ids. */
export const TType = {
  stop: 0,
  bool: 2,
  byte: 3,
  double: 4,
  i16: 6,
  i32: 8,
  i64: 10,
  string: 11,
  struct: 12,
  map: 13,
  set: 14,
  list: 15,
} as const;

export type ThriftValue =
  | boolean
  | number
  | bigint
  | Uint8Array
  | ThriftStruct
  | ThriftValue[]
  | Map<ThriftValue, ThriftValue>;

/** A decoded struct: field id → value (unknown fields are kept, as Thrift readers skip nothing here). */
export type ThriftStruct = Map<number, ThriftValue>;

export class ThriftDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ThriftDecodeError';
  }
}

const MAX_DEPTH = 32;
const MAX_ELEMENTS = 100_000;

class Reader {
  private offset = 0;
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  private need(n: number): void {
    if (n < 0 || this.offset + n > this.bytes.length) {
      throw new ThriftDecodeError(`truncated at byte ${this.offset} (needs ${n} more, ${this.remaining} left)`);
    }
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.offset++);
  }

  i16(): number {
    this.need(2);
    const v = this.view.getInt16(this.offset);
    this.offset += 2;
    return v;
  }

  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.offset);
    this.offset += 4;
    return v;
  }

  i64(): bigint {
    this.need(8);
    const v = this.view.getBigInt64(this.offset);
    this.offset += 8;
    return v;
  }

  double(): number {
    this.need(8);
    const v = this.view.getFloat64(this.offset);
    this.offset += 8;
    return v;
  }

  binary(): Uint8Array {
    const n = this.i32();
    if (n < 0) throw new ThriftDecodeError(`negative length ${n} at byte ${this.offset - 4}`);
    this.need(n);
    const v = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  size(): number {
    const n = this.i32();
    if (n < 0 || n > MAX_ELEMENTS) throw new ThriftDecodeError(`implausible element count ${n} at byte ${this.offset - 4}`);
    return n;
  }

  value(type: number, depth: number): ThriftValue {
    if (depth > MAX_DEPTH) throw new ThriftDecodeError(`nested deeper than ${MAX_DEPTH} levels`);
    switch (type) {
      case TType.bool:
        return this.u8() !== 0;
      case TType.byte:
        return (this.u8() << 24) >> 24;
      case TType.double:
        return this.double();
      case TType.i16:
        return this.i16();
      case TType.i32:
        return this.i32();
      case TType.i64:
        return this.i64();
      case TType.string:
        return this.binary();
      case TType.struct:
        return this.struct(depth + 1);
      case TType.list:
      case TType.set: {
        const elem = this.u8();
        const n = this.size();
        const out: ThriftValue[] = [];
        for (let i = 0; i < n; i++) out.push(this.value(elem, depth + 1));
        return out;
      }
      case TType.map: {
        const k = this.u8();
        const v = this.u8();
        const n = this.size();
        const out = new Map<ThriftValue, ThriftValue>();
        for (let i = 0; i < n; i++) out.set(this.value(k, depth + 1), this.value(v, depth + 1));
        return out;
      }
      default:
        throw new ThriftDecodeError(`unknown field type ${type} at byte ${this.offset - 1}`);
    }
  }

  struct(depth: number): ThriftStruct {
    const out: ThriftStruct = new Map();
    for (;;) {
      const type = this.u8();
      if (type === TType.stop) return out;
      const id = this.i16();
      out.set(id, this.value(type, depth));
    }
  }
}

/** Decodes one Thrift-binary struct that must span `bytes` exactly. */
export function decodeStruct(bytes: Uint8Array): ThriftStruct {
  const reader = new Reader(bytes);
  const out = reader.struct(0);
  if (reader.remaining !== 0) throw new ThriftDecodeError(`${reader.remaining} bytes after the end of the struct`);
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(s: ThriftStruct, id: number, where: string): string | undefined {
  const v = s.get(id);
  if (v === undefined) return undefined;
  if (!(v instanceof Uint8Array)) throw new ThriftDecodeError(`${where} field ${id} is not a string`);
  try {
    return utf8.decode(v);
  } catch {
    throw new ThriftDecodeError(`${where} field ${id} is not UTF-8`);
  }
}

function struct(s: ThriftStruct, id: number, where: string): ThriftStruct | undefined {
  const v = s.get(id);
  if (v === undefined) return undefined;
  if (!(v instanceof Map)) throw new ThriftDecodeError(`${where} field ${id} is not a struct`);
  return v as ThriftStruct;
}

/** The `MessageEventDetail` union members omni tells apart (thrift/event.thrift). */
export const DetailKind = {
  1: 'messageCreate',
  3: 'conversationKeyChange',
  4: 'groupChange',
  5: 'messageFailure',
  6: 'messageTyping',
  7: 'messageDelete',
  8: 'conversationDelete',
  9: 'conversationMetadataChange',
  10: 'grokSearchResponse',
  12: 'markConversationRead',
  13: 'markConversationUnread',
  14: 'memberAccountDelete',
} as const satisfies Record<number, string>;
export type DetailKindName = (typeof DetailKind)[keyof typeof DetailKind] | 'unknown' | 'none';

export interface MessageEventSignatureFields {
  signature?: string | undefined;
  publicKeyVersion?: string | undefined;
  signatureVersion?: string | undefined;
  signingPublicKey?: string | undefined;
}

/** What omni reads from a signed `MessageEvent` before verification: nothing here is trusted yet. */
export interface MessageEventFields {
  sequenceId?: string | undefined;
  messageId?: string | undefined;
  senderId?: string | undefined;
  conversationId?: string | undefined;
  conversationToken?: string | undefined;
  createdAtMsec?: string | undefined;
  detail: DetailKindName;
  /** The key version a message or key change names (MessageCreateEvent 101 / ConversationKeyChangeEvent 1). */
  conversationKeyVersion?: string | undefined;
  signature?: MessageEventSignatureFields | undefined;
}

/** Decodes a `MessageEvent` (Thrift binary). Throws ThriftDecodeError when it is not one. */
export function decodeMessageEvent(bytes: Uint8Array): MessageEventFields {
  const s = decodeStruct(bytes);
  const where = 'MessageEvent';
  const out: MessageEventFields = {
    sequenceId: text(s, 1, where),
    messageId: text(s, 2, where),
    senderId: text(s, 3, where),
    conversationId: text(s, 4, where),
    conversationToken: text(s, 5, where),
    createdAtMsec: text(s, 6, where),
    detail: 'none',
  };
  const detail = struct(s, 7, where);
  if (detail) {
    const [id] = [...detail.keys()];
    if (detail.size !== 1 || id === undefined) {
      throw new ThriftDecodeError(`MessageEventDetail is a union but has ${detail.size} members`);
    }
    out.detail = (DetailKind as Record<number, DetailKindName>)[id] ?? 'unknown';
    if (out.detail === 'messageCreate') {
      out.conversationKeyVersion = text(struct(detail, 1, 'MessageEventDetail') ?? new Map(), 101, 'MessageCreateEvent');
    } else if (out.detail === 'conversationKeyChange') {
      out.conversationKeyVersion = text(struct(detail, 3, 'MessageEventDetail') ?? new Map(), 1, 'ConversationKeyChangeEvent');
    }
  }
  const sig = struct(s, 9, where);
  if (sig) {
    const w = 'MessageEventSignature';
    out.signature = {
      signature: text(sig, 1, w),
      publicKeyVersion: text(sig, 2, w),
      signatureVersion: text(sig, 3, w),
      signingPublicKey: text(sig, 4, w),
    };
  }
  return out;
}

/** Strict base64 (standard alphabet, padding optional) → bytes; undefined when it is not base64. */
export function fromBase64(b64: string): Uint8Array | undefined {
  const s = b64.trim();
  if (s.length === 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 === 1) return undefined;
  return new Uint8Array(Buffer.from(s, 'base64'));
}
