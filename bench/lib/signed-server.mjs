// The HTTP side both floor servers share (durable-bare-server.mjs, model-floor-server.mjs): node:http
// with omni listen's keep-alive settings, the whole body read, its HMAC checked (401 otherwise), and
// the start-up line omni listen's JSON log prints, so one spawner serves every server of the bench.
import crypto from 'node:crypto';
import http from 'node:http';

const SIGNATURE_HEADER = 'x-twitter-webhooks-signature';

/**
 * Serves signed deliveries: `accept(body, res, started)` gets each one whose signature is right. The
 * server's `writer` thread ends the process if it fails, and is stopped on SIGTERM once the server closed.
 */
export function serveSignedDeliveries({ secret, accept, writer }) {
  writer.on('error', (e) => {
    console.error(e);
    process.exit(1);
  });
  const key = Buffer.from(secret);
  const server = http.createServer({ keepAliveTimeout: 5_000, headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    const started = performance.now();
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      const expected = Buffer.from('sha256=' + crypto.createHmac('sha256', key).update(body).digest('base64'));
      const given = Buffer.from(String(req.headers[SIGNATURE_HEADER] ?? ''));
      if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return answer(res, 401, '{"error":"bad signature"}');
      accept(body, res, started);
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ msg: `listening on http://127.0.0.1:${server.address().port}` }) + '\n'));
  process.on('SIGTERM', () => server.close(() => writer.terminate().then(() => process.exit(0))));
}

export function answer(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
