import type { MultipartGrant, SingleGrant } from '../sync-protocol.ts';

/**
 * Whether a grant's URLs may be used: each must be under one of `origins` (scheme, host, port and path prefix, as
 * URL parses them, so `https://s3.lab:9000/fleet/` does not admit `https://s3.lab:9000.evil/` or `/fleet-x/`). With
 * none pinned, a grant central's key `signed` may name the storage (the first grant to each origin is said in
 * `warn`); an unsigned one (the file's require_signed_commands: false) may not: any broker client could have sent it.
 */
export function grantRefusal(
  grant: SingleGrant | MultipartGrant,
  origins: readonly string[],
  warned: Set<string>,
  signed: boolean,
): { refused?: string; warn?: string } {
  const urls = grant.mode === 'single' ? [grant.put.url] : grant.parts.map((p) => p.put.url);
  let warn: string | undefined;
  for (const raw of urls) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return { refused: `grant ${grant.grant_id} names an upload URL that does not parse: nothing was sent` };
    }
    if (origins.length === 0) {
      if (!signed)
        return {
          refused: `grant ${grant.grant_id} sends ${grant.object_key} to ${url.origin}, and central did not sign it: with central.sync.storage_origins empty only central's signed grants name the storage; pin the storage there (e.g. ${url.origin}/<bucket>/) or pin central's key (central.command_keys): nothing was sent`,
        };
      if (!warned.has(url.origin)) {
        warned.add(url.origin);
        warn = url.origin;
      }
      continue;
    }
    if (!origins.some((o) => underOrigin(url, o)))
      return {
        refused: `grant ${grant.grant_id} sends ${grant.object_key} to ${url.origin}${url.pathname}, which is under none of central.sync.storage_origins (${origins.join(', ')}): nothing was sent`,
      };
  }
  return warn === undefined ? {} : { warn };
}

function underOrigin(url: URL, pinned: string): boolean {
  const pin = new URL(pinned);
  const path = pin.pathname.endsWith('/') ? pin.pathname : `${pin.pathname}/`;
  return url.origin === pin.origin && (pin.pathname === '/' || url.pathname.startsWith(path));
}
