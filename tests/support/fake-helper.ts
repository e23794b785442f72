// A fake external Helper speaking the Rasa REST channel: POST {"sender","message"} → an array of
// {text?, buttons?: [{title, payload}], custom?}. Tests script its answers per message and read
// what it received; it can also fail (status), stall (slower than omni's limit) or answer nothing.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HelperRequest {
  sender: string;
  message: string;
  raw: string;
  contentType: string | undefined;
}

export type HelperReply =
  | { kind: 'answer'; messages: unknown[] }
  | { kind: 'status'; status: number; body?: string }
  | { kind: 'stall' }
  | { kind: 'raw'; body: string };

export interface FakeHelper {
  /** The endpoint, ending in /webhooks/rest/webhook like Rasa's. */
  url: string;
  requests: HelperRequest[];
  /** How it answers from now on. */
  respond(fn: (req: HelperRequest) => HelperReply): void;
  close(): Promise<void>;
}

/** A Rasa-like default: a greeting with two buttons; "/handoff" (or "agent") hands off. */
export function rasaLike(req: HelperRequest): HelperReply {
  if (req.message === '/handoff' || /agent/i.test(req.message)) {
    return { kind: 'answer', messages: [{ recipient_id: req.sender, text: 'Connecting you to an attendant.', custom: { handoff: true } }] };
  }
  if (req.message === '/order_status') return { kind: 'answer', messages: [{ recipient_id: req.sender, text: 'Your order #55 ships tomorrow.' }] };
  return {
    kind: 'answer',
    messages: [
      { recipient_id: req.sender, text: `Bot heard: ${req.message}` },
      {
        recipient_id: req.sender,
        text: 'What do you need?',
        buttons: [
          { title: 'Order status', payload: '/order_status' },
          { title: 'A human please', payload: '/handoff' },
        ],
      },
    ],
  };
}

export async function startFakeHelper(respond: (req: HelperRequest) => HelperReply = rasaLike): Promise<FakeHelper> {
  let handler = respond;
  const requests: HelperRequest[] = [];
  const stalled = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8').on('data', (d: string) => (raw += d));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/webhooks/rest/webhook') return void res.writeHead(404).end();
      let body: { sender?: unknown; message?: unknown } = {};
      try {
        body = JSON.parse(raw);
      } catch {
        return void res.writeHead(400).end();
      }
      const r: HelperRequest = { sender: String(body.sender), message: String(body.message), raw, contentType: req.headers['content-type'] };
      requests.push(r);
      const reply = handler(r);
      switch (reply.kind) {
        case 'answer':
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply.messages));
          return;
        case 'raw':
          res.writeHead(200, { 'content-type': 'application/json' }).end(reply.body);
          return;
        case 'status':
          res.writeHead(reply.status, { 'content-type': 'text/plain' }).end(reply.body ?? '');
          return;
        case 'stall':
          stalled.add(res);
          res.on('close', () => stalled.delete(res));
          return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/rest/webhook`,
    requests,
    respond(fn) {
      handler = fn;
    },
    async close() {
      for (const r of stalled) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A URL where nothing listens (a port that was just freed). */
export async function unreachableUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/webhooks/rest/webhook`;
}
