// One load harness for every HTTP target: autocannon, 64 keep-alive connections, one request in
// flight per connection, each POST a fresh signed delivery. The harness remembers which event ids
// were answered 200, so the database can be checked against them afterwards.
import autocannon from 'autocannon';
const SIGNATURE_HEADER = 'x-twitter-webhooks-signature';

export function runAutocannon(opts) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
    instance.on('error', reject);
  });
}

/** POSTs signed deliveries for `duration` seconds; returns autocannon's summary plus the event ids answered 200. */
export async function deliveryLoad({ url, path, next, connections, duration }) {
  const answered = [];
  const result = await runAutocannon({
    url,
    connections,
    duration,
    pipelining: 1,
    requests: [
      {
        method: 'POST',
        path,
        setupRequest(req, context) {
          const d = next();
          // One request in flight per connection: the context holds the event id until the answer.
          context.event = d.event;
          req.headers = { 'content-type': 'application/json', [SIGNATURE_HEADER]: d.signature };
          req.body = d.bytes;
          return req;
        },
        onResponse(status, _body, context) {
          if (status === 200) answered.push(context.event);
        },
      },
    ],
  });
  return { ...summarise(result), answered };
}

/** GETs for `duration` seconds (the CRC check). */
export async function getLoad({ url, path, connections, duration }) {
  return summarise(await runAutocannon({ url, connections, duration, pipelining: 1, requests: [{ method: 'GET', path }] }));
}

function summarise(r) {
  return {
    rps: r.requests.average,
    total: r.requests.total,
    ok2xx: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    durationS: r.duration,
  };
}
