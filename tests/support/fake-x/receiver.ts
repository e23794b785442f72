// A webhook endpoint on 127.0.0.1 standing in for `omni listen` in tests of the 2026 API: answers
// X's CRC with the consumer secret, verifies the signature of every delivery, records them, and can
// be "down" (answers 503) to play a listener that is not running.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { crcResponseToken, SIGNATURE_HEADER, verifySignature } from '../../../src/twitter/signature.js';

export interface Received {
  body: string;
  json: unknown;
  signatureOk: boolean;
}

export async function startWebhookReceiver(consumerSecret: string) {
  let down = false;
  const received: Received[] = [];
  const crcs: string[] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET') {
      const token = u.searchParams.get('crc_token');
      if (!token) return void res.writeHead(400).end();
      crcs.push(token);
      if (down) return void res.writeHead(503).end();
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ response_token: crcResponseToken(consumerSecret, token) }));
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (down) return void res.writeHead(503).end();
      const raw = Buffer.concat(chunks);
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        json = undefined;
      }
      received.push({ body: raw.toString('utf8'), json, signatureOk: verifySignature(consumerSecret, raw, req.headers[SIGNATURE_HEADER] as string | undefined) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/twitter`,
    received,
    crcs,
    setDown(v: boolean) {
      down = v;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
