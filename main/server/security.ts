// Browser-mode access control: a random per-launch token, the session cookie it buys, the origin and host checks,
// and the security headers every response carries. Pure functions, no I/O.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** 32 random bytes, URL-safe. A new one for every launch; it is never written to disk. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time string comparison (length leaks, content does not). */
export function sameSecret(given: string | null | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Cookies are shared by every port of a host, so the cookie name carries the port:
 * two instances on one machine never overwrite (or accept) each other's session.
 */
export function cookieName(port: number): string {
  return `ssm_session_${port}`;
}

export function readCookie(headers: IncomingHttpHeaders, name: string): string | null {
  const header = headers.cookie;
  if (typeof header !== 'string') return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

export function sessionCookie(port: number, session: string): string {
  // No Max-Age: a session cookie, gone when the browser closes; the session itself dies with the server.
  return `${cookieName(port)}=${session}; Path=/; HttpOnly; SameSite=Strict`;
}

/**
 * The Content-Security-Policy of every response. `meta` drops frame-ancestors, which a <meta> tag cannot carry
 * (browsers ignore it there and warn).
 */
export function contentSecurityPolicy(origin: string, options: { meta?: boolean } = {}): string {
  const wsOrigin = origin.replace(/^http:/, 'ws:');
  const directives = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self' ${wsOrigin}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ];
  if (!options.meta) directives.push("frame-ancestors 'none'");
  return directives.join('; ');
}

export function securityHeaders(origin: string): OutgoingHttpHeaders {
  return {
    'Content-Security-Policy': contentSecurityPolicy(origin),
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=()',
  };
}

/**
 * The Host header must name this server exactly (defeats DNS rebinding: a page on evil.example resolved to
 * 127.0.0.1 still sends Host: evil.example).
 */
export function hostAllowed(headers: IncomingHttpHeaders, port: number): boolean {
  return headers.host === `127.0.0.1:${port}`;
}
