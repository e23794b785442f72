// The ceiling for the intake benchmark: a bare Node HTTP server that reads the whole body and
// answers 200, in its own process, with the same keep-alive settings as omni listen. It does no
// parsing, verifying or storing, so omni's req/s divided by this one's is the cost of being useful.
import http from 'node:http';

const server = http.createServer({ keepAliveTimeout: 5_000, headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
  let n = 0;
  req.on('data', (c) => (n += c.length));
  req.on('end', () => {
    const body = `{"received":${n}}`;
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  // Same start-up line shape as omni listen's JSON log, so one spawner serves both.
  process.stdout.write(JSON.stringify({ msg: `listening on http://127.0.0.1:${server.address().port}` }) + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
