// Who sent a request. The TCP peer is the client unless it is a proxy this listener was told to
// trust (--trust-proxy); then X-Forwarded-For is read from the right, each trusted hop skipped, and
// the first untrusted one is the client. The left-most entries are whatever the client wrote, so
// they are never believed; what is returned is always a valid IP address, never header text.
import net from 'node:net';

export interface TrustedProxies {
  /** True when `address` (a valid IP) is a trusted proxy. */
  has(address: string): boolean;
  /** What was configured, for the start-up log and errors: "loopback", "none", "10.0.0.0/8,…". */
  readonly description: string;
  readonly none: boolean;
}

export class TrustProxyError extends Error {
  constructor(readonly value: string) {
    super(`'${value}' is not an IP address, a CIDR range (10.0.0.0/8), loopback or none`);
    this.name = 'TrustProxyError';
  }
}

/** "loopback", "none", or a comma-separated list of IP addresses, CIDR ranges and "loopback". Throws TrustProxyError. */
export function parseTrustedProxies(spec: string): TrustedProxies {
  const list = new net.BlockList();
  const parts = spec.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw new TrustProxyError(spec);
  let none = false;
  for (const part of parts) {
    if (part === 'none') {
      none = true;
    } else if (part === 'loopback') {
      list.addSubnet('127.0.0.0', 8, 'ipv4');
      list.addAddress('::1', 'ipv6');
    } else {
      const [ip, bits, extra] = part.split('/');
      const family = net.isIP(ip ?? '');
      if (!family || extra !== undefined) throw new TrustProxyError(part);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) list.addAddress(ip!, type);
      else {
        const n = /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
        if (!(n >= 0 && n <= (family === 4 ? 32 : 128))) throw new TrustProxyError(part);
        list.addSubnet(ip!, n, type);
      }
    }
  }
  if (none && parts.length > 1) throw new TrustProxyError(spec);
  // Asked once or twice per request: the answers for the addresses seen are remembered (a
  // BlockList lookup costs microseconds; the map is cleared if a flood of addresses fills it).
  const known = new Map<string, boolean>();
  return {
    none,
    description: parts.join(','),
    has(address) {
      if (none) return false;
      let trusted = known.get(address);
      if (trusted === undefined) {
        trusted = list.check(address, net.isIP(address) === 6 ? 'ipv6' : 'ipv4');
        if (known.size >= 10_000) known.clear();
        known.set(address, trusted);
      }
      return trusted;
    },
  };
}

/** The default: a listener bound to loopback sits behind the documented local reverse proxy, so it trusts loopback; otherwise nothing. */
export function defaultTrustedProxies(host: string): TrustedProxies {
  const h = host.replace(/^\[|\]$/g, '');
  const local = h === 'localhost' || (net.isIP(h) !== 0 && parseTrustedProxies('loopback').has(normalizeIp(h)!));
  return parseTrustedProxies(local ? 'loopback' : 'none');
}

/** A valid IP address in its plain form (IPv4-mapped IPv6 as IPv4; brackets and a port removed), else undefined. */
export function normalizeIp(value: string): string | undefined {
  let v = value.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(v);
  if (bracketed) v = bracketed[1]!;
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(v)) v = v.slice(0, v.lastIndexOf(':'));
  const mapped = /^::ffff:(\d{1,3}(\.\d{1,3}){3})$/i.exec(v);
  if (mapped) v = mapped[1]!;
  return net.isIP(v) ? v.toLowerCase() : undefined;
}

/**
 * The client's address: the peer, or, when the peer is a trusted proxy, the right-most address of
 * X-Forwarded-For that is not a trusted proxy. An entry that is no IP address stops the walk: the
 * hop that reported it (a trusted proxy) is the best that can be said.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined, trusted: TrustedProxies): string | undefined {
  let client = peer === undefined ? undefined : normalizeIp(peer);
  if (client === undefined || forwardedFor === undefined || !trusted.has(client)) return client;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeIp(hops[i]!);
    if (hop === undefined) return client;
    client = hop;
    if (!trusted.has(hop)) return hop;
  }
  return client;
}
