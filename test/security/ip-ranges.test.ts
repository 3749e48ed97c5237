import { describe, expect, test } from "bun:test";
import { classifyAddress, type AddressClass } from "../../src/security/ip-ranges.ts";

const table: [string, AddressClass][] = [
  // IPv4
  ["93.184.215.14", "public"],
  ["8.8.8.8", "public"],
  ["1.1.1.1", "public"],
  ["0.0.0.0", "unspecified"],
  ["0.1.2.3", "unspecified"],
  ["127.0.0.1", "loopback"],
  ["127.255.255.254", "loopback"],
  ["10.0.0.1", "private"],
  ["10.255.255.255", "private"],
  ["172.16.0.1", "private"],
  ["172.31.255.255", "private"],
  ["172.32.0.1", "public"],
  ["172.15.255.255", "public"],
  ["192.168.1.1", "private"],
  ["169.254.169.254", "link-local"],
  ["100.64.0.1", "cgnat"],
  ["100.127.255.255", "cgnat"],
  ["100.128.0.1", "public"],
  ["224.0.0.1", "multicast"],
  ["239.255.255.250", "multicast"],
  ["255.255.255.255", "reserved"],
  ["240.0.0.1", "reserved"],
  ["192.0.2.10", "reserved"],
  ["198.18.0.1", "reserved"],
  ["192.0.0.8", "reserved"],
  // IPv6
  ["2606:4700:4700::1111", "public"],
  ["2a00:1450:4001:80b::200e", "public"],
  ["::", "unspecified"],
  ["::1", "loopback"],
  ["[::1]", "loopback"],
  ["0:0:0:0:0:0:0:1", "loopback"],
  ["::ffff:127.0.0.1", "ipv4-mapped"],
  ["::ffff:8.8.8.8", "ipv4-mapped"],
  ["::ffff:7f00:1", "ipv4-mapped"],
  ["::127.0.0.1", "reserved"],
  ["fc00::1", "private"],
  ["fd12:3456:789a::1", "private"],
  ["fe80::1", "link-local"],
  ["fe80::1%eth0", "link-local"],
  ["febf:ffff::1", "link-local"],
  ["fec0::1", "private"],
  ["ff02::1", "multicast"],
  ["2001:db8::1", "reserved"],
  ["2001::1", "reserved"],
  ["2002:7f00:1::1", "reserved"],
  ["100::1", "reserved"],
  ["64:ff9b::a00:1", "private"], // NAT64 of 10.0.0.1
  ["64:ff9b::808:808", "public"], // NAT64 of 8.8.8.8
  ["64:ff9b:1::1", "private"],
  ["4000::1", "reserved"],
  ["FE80::ABCD", "link-local"],
  // Not addresses
  ["localhost", "invalid"],
  ["example.com", "invalid"],
  ["", "invalid"],
  ["1.2.3", "invalid"],
  ["256.1.1.1", "invalid"],
];

describe("classifyAddress", () => {
  test.each(table)("%s is %s", (ip, expected) => {
    expect(classifyAddress(ip)).toBe(expected);
  });
});
