import { isIP } from "node:net";

// Which addresses an outbound fetch of an untrusted URL may reach. Pure: no
// DNS, no I/O. Sources: the IANA IPv4 and IPv6 Special-Purpose Address
// Registries (RFC 6890), RFC 1918 (private), RFC 6598 (CGNAT), RFC 3927 and
// RFC 4291 §2.5.6 (link-local), RFC 4193 (ULA), RFC 4291 §2.5.5.2 (mapped).

export type AddressClass =
  | "public"
  | "unspecified"
  | "loopback"
  | "private"
  | "link-local"
  | "cgnat"
  | "multicast"
  | "ipv4-mapped"
  | "reserved"
  | "invalid";

type Range = [network: string, prefixLength: number, cls: Exclude<AddressClass, "public" | "invalid">];

const ipv4Ranges: Range[] = [
  ["0.0.0.0", 8, "unspecified"], // "this network" (RFC 791); 0.0.0.0 reaches the local host on Linux
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "cgnat"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"], // cloud metadata services live here
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "reserved"], // IETF protocol assignments
  ["192.0.2.0", 24, "reserved"], // documentation
  ["192.88.99.0", 24, "reserved"], // 6to4 relay anycast (deprecated)
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "reserved"], // benchmarking
  ["198.51.100.0", 24, "reserved"], // documentation
  ["203.0.113.0", 24, "reserved"], // documentation
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"], // future use, and 255.255.255.255 broadcast
];

const ipv6Ranges: Range[] = [
  ["::", 128, "unspecified"],
  ["::1", 128, "loopback"],
  ["::ffff:0:0", 96, "ipv4-mapped"], // refused outright rather than judged by the IPv4 inside
  ["::", 96, "reserved"], // IPv4-compatible (deprecated)
  ["64:ff9b:1::", 48, "private"], // local-use NAT64 (RFC 8215)
  ["100::", 64, "reserved"], // discard-only
  ["2001::", 23, "reserved"], // IETF protocol assignments, Teredo
  ["2001:db8::", 32, "reserved"], // documentation
  ["2002::", 16, "reserved"], // 6to4: embeds an IPv4 address we would have to judge too
  ["fc00::", 7, "private"], // unique local (ULA)
  ["fe80::", 10, "link-local"],
  ["fec0::", 10, "private"], // site-local (deprecated)
  ["ff00::", 8, "multicast"],
];

// Well-known NAT64 (RFC 6052): judged by the IPv4 address it embeds.
const nat64Prefix = "64:ff9b::";

function ipv4ToBigInt(ip: string): bigint {
  return ip.split(".").reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function ipv6ToBigInt(ip: string): bigint {
  let s = ip;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const n = ipv4ToBigInt(dotted[1]!);
    s = `${s.slice(0, -dotted[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = s.includes("::") ? s.split("::") : [s, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

function inRange(addr: bigint, bits: number, network: bigint, prefixLength: number): boolean {
  const shift = BigInt(bits - prefixLength);
  return addr >> shift === network >> shift;
}

function classifyIpv4(ip: string): AddressClass {
  const addr = ipv4ToBigInt(ip);
  const hit = ipv4Ranges.find(([net, len]) => inRange(addr, 32, ipv4ToBigInt(net), len));
  return hit ? hit[2] : "public";
}

function classifyIpv6(ip: string): AddressClass {
  const addr = ipv6ToBigInt(ip);
  if (inRange(addr, 128, ipv6ToBigInt(nat64Prefix), 96)) {
    const v4 = addr & 0xffffffffn;
    return classifyIpv4([24n, 16n, 8n, 0n].map((s) => String((v4 >> s) & 0xffn)).join("."));
  }
  // Most specific first: ::1 and ::ffff:0:0/96 sit inside ::/96.
  const hits = ipv6Ranges.filter(([net, len]) => inRange(addr, 128, ipv6ToBigInt(net), len));
  hits.sort((a, b) => b[1] - a[1]);
  if (hits[0]) return hits[0][2];
  // Only global unicast (2000::/3) is public; the rest is unassigned.
  return inRange(addr, 128, 0x2n << 124n, 3) ? "public" : "reserved";
}

/**
 * What kind of address `ip` is: only "public" may be fetched. Accepts
 * IPv4, IPv6 (with or without brackets or a zone id); anything else is "invalid".
 */
export function classifyAddress(ip: string): AddressClass {
  const bare = ip.replace(/^\[(.*)\]$/, "$1").split("%")[0]!;
  const version = isIP(bare);
  if (version === 4) return classifyIpv4(bare);
  if (version === 6) return classifyIpv6(bare.toLowerCase());
  return "invalid";
}
