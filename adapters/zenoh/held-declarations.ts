import type { Session } from '@eclipse-zenoh/zenoh-ts';
import type { Handle } from './link-types.ts';
import type { ZenohModule } from './zenoh-runtime.ts';

/** A declaration the link keeps across sessions: made again on every session the link opens. */
export interface Declaration {
  readonly what: string;
  declare(session: Session, zenoh: ZenohModule): Promise<void>;
  /** Forgets the handle of a session that is gone (nothing to undeclare there). */
  forget(): void;
  undeclare(): Promise<void>;
}

/**
 * What a ZenohLink keeps declared across sessions: each declaration is made on the session up now (when there
 * is one) and again on every session after. A handle's close undeclares it and forgets it for good.
 */
export class HeldDeclarations {
  readonly #declarations = new Set<Declaration>();
  readonly #current: () => { session: Session; zenoh: ZenohModule } | undefined;
  readonly #onFailed: (declaration: Declaration, error: unknown) => void;

  /** `current`: the session up now, if any; `onFailed`: a declaration on it failed. */
  constructor(options: {
    current: () => { session: Session; zenoh: ZenohModule } | undefined;
    onFailed: (declaration: Declaration, error: unknown) => void;
  }) {
    const { current, onFailed } = options;
    this.#current = current;
    this.#onFailed = onFailed;
  }

  get size(): number {
    return this.#declarations.size;
  }

  /** Holds what `make` declares on each session, undeclared through its own `undeclare()`. */
  holdUndeclarable(what: string, make: (session: Session) => Promise<{ undeclare(): Promise<void> }>): Handle {
    let undeclare: (() => Promise<void>) | undefined;
    // Closed while it was being declared (agent/stop's queryable handed to the stop listener's thread as the link came
    // up): undeclared once made, else it would answer beside the other for as long as the session lasts.
    let closed = false;
    return this.hold({
      what,
      declare: async (session) => {
        const declared = await make(session);
        if (closed) return declared.undeclare();
        undeclare = () => declared.undeclare();
      },
      forget: () => (undeclare = undefined),
      undeclare: async () => {
        closed = true;
        return undeclare?.();
      },
    });
  }

  hold(declaration: Declaration): Handle {
    this.#declarations.add(declaration);
    const up = this.#current();
    if (up !== undefined) {
      declaration.declare(up.session, up.zenoh).catch((error: unknown) => this.#onFailed(declaration, error));
    }
    return {
      close: async () => {
        if (!this.#declarations.delete(declaration)) return;
        try {
          if (this.#current() !== undefined) await declaration.undeclare();
        } catch {
          // the session went down under us: nothing remains declared there
        }
      },
    };
  }

  /** Declares everything held on a new session, in the order held; the first failure rejects. */
  async declareAll(session: Session, zenoh: ZenohModule): Promise<void> {
    for (const declaration of this.#declarations) await declaration.declare(session, zenoh);
  }

  /** The session is gone: every handle on it is forgotten (nothing to undeclare there). */
  forgetAll(): void {
    for (const declaration of this.#declarations) declaration.forget();
  }
}
