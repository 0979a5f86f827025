// The offline audit: every socket the app listens on or opens is recorded; the Settings view lists them.
import { isIP } from 'node:net';

import type { NetworkRecord } from '../../contract/index.js';

export function isLoopback(address: string): boolean {
  const a = address.replace(/^::ffff:/, '');
  return a === 'localhost' || a === '::1' || (isIP(a) === 4 && a.startsWith('127.'));
}

export class NetworkAudit {
  private readonly records: NetworkRecord[] = [];

  record(kind: NetworkRecord['kind'], address: string, port: number): void {
    this.records.push({ at: Date.now(), kind, address, port, loopback: isLoopback(address) });
    if (this.records.length > 1000) this.records.shift();
  }

  list(): NetworkRecord[] {
    return [...this.records];
  }
}
