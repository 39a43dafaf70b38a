/** A host name or address that is loopback: 127.0.0.0/8, ::1 or localhost (brackets stripped, as given). */
export function isLoopbackHost(host: string): boolean {
  return /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/.test(host);
}
