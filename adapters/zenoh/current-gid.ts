import { nowNs } from '../../daemon/util/index.ts';
import { encodeAttachment, entityGid } from './rmw-zenoh-keys.ts';

/**
 * The GID of one of the daemon's entities as rmw_zenoh derives it from the token the daemon now announces. The token
 * holds the session's zid, so the GID changes with the session: an entity made before the link was first up (the
 * sim's /map) or kept across a reconnect is announced under the new zid, and `ros2 topic info -v` gives the GID of
 * that token. Computed again only when the zid changes: `get()` runs for every sample.
 */
export class CurrentGid {
  #zid: () => string;
  #token: () => string;
  #onNew: (gid: Uint8Array) => void;
  #zidOfGid: string | undefined;
  #gid: Uint8Array = new Uint8Array(16);

  constructor(options: {
    /** The session's zid now. */
    zid: () => string;
    /** The entity's token now. */
    token: () => string;
    /** Each GID the entity takes, once (the echo check learns them). */
    onNew?: (gid: Uint8Array) => void;
  }) {
    const { zid, token, onNew = () => {} } = options;
    this.#zid = zid;
    this.#token = token;
    this.#onNew = onNew;
  }

  get(): Uint8Array {
    const zid = this.#zid();
    if (zid !== this.#zidOfGid) {
      this.#zidOfGid = zid;
      this.#gid = entityGid(this.#token());
      this.#onNew(this.#gid);
    }
    return this.#gid;
  }
}

/**
 * The attachments of one service client's requests, as rmw_zenoh's client makes them: its own sequence numbers from
 * 1, and the GID of the client's token as now announced, so a server (and `ros2 service info`) can tell which
 * client asked, after a reconnect too.
 */
export class ClientAttachments {
  #gid: CurrentGid;
  #sequence = 0n;

  constructor(options: { zid: () => string; token: () => string }) {
    this.#gid = new CurrentGid(options);
  }

  next(): Uint8Array {
    return encodeAttachment({ sequence: ++this.#sequence, timestampNs: nowNs(), gid: this.#gid.get() });
  }
}
