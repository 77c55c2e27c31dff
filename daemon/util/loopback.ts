import { isIP } from 'node:net';

/** Whether `host` (a name or an address, IPv6 in brackets or not) reaches this machine only. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}
