/** The dotted netmask of an IPv4 CIDR: 10.8.0.0/16 → 255.255.0.0. */
export function cidrNetmask(cidr: string): string {
  const bits = Number(cidr.split('/')[1]);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return [24, 16, 8, 0].map((shift) => (mask >>> shift) & 255).join('.');
}
