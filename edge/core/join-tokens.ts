/**
 * Join tokens: JWTs that name the room, the display name and the role of a participant, issued by the
 * deployment itself (HS256 with a shared secret) or by trusted identity providers and partner
 * organisations (EdDSA, ES256 or RS256, with public keys given as JWKs or fetched from a JWKS URL).
 * Verification is jose's; this file decides which key, which algorithms and which grants (rooms, roles,
 * media rules) belong to which issuer, and what a token must carry (audience, a bounded lifetime).
 */
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { ErrorCode, TreffpunktError } from '../../shared/errors.ts';
import { toBase64Url } from '../../shared/base64.ts';
import { DisplayName, Role } from '../../shared/signaling.ts';
import { Jurisdiction } from '../../shared/control.ts';
import { OperatorId } from '../../shared/ids.ts';

const ASYMMETRIC = ['EdDSA', 'ES256', 'RS256'];

/** A room name, or a pattern where `*` stands for any characters ("partner-b-*", "*"). */
const RoomPattern = z
  .string()
  .regex(/^[A-Za-z0-9*_-]{1,64}$/, 'is not a room name or pattern (letters, digits, -, _ and * for any characters)');

/**
 * What an issuer may grant. Issue 10: a partner's token made its holder moderator of another
 * organisation's room and set that room's media rules, because every trusted issuer could grant
 * everything. So `rooms` must be named for each issuer, and moderator rights, media rules and several
 * sessions per token are off unless configured. The deployment's own secret gets all of them (config.ts).
 */
const Grants = {
  issuer: z.string().min(1),
  rooms: z
    .array(RoomPattern, {
      error: 'is required: the rooms this issuer may admit to, e.g. ["partner-b-*"] (or ["*"] for all)',
    })
    .min(1),
  roles: z.array(Role).min(1).default(['participant', 'guest']),
  mediaClaims: z.boolean().default(false),
  multipleSessions: z.boolean().default(false),
};

/** Plain http:// is only for an identity provider on the same machine: elsewhere anyone on the path could swap the keys. */
const JwksUrl = z.url({ protocol: /^https?$/ }).refine((raw) => {
  const url = new URL(raw);
  return url.protocol === 'https:' || ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}, 'must be https:// (http:// only on loopback: 127.0.0.1, ::1, localhost)');

/**
 * One trusted issuer, as configured (TREFFPUNKT_TRUSTED_ISSUERS is a JSON array of these): its grants and
 * exactly one kind of key. One object rather than a union of three, so that a mistake is reported as
 * what it is ("rooms: is required") instead of zod's "Invalid input" for a union none of whose options fit.
 */
export const TrustedIssuer = z
  .object({
    ...Grants,
    hs256Secret: z.string().min(32, 'an HS256 secret must be at least 32 characters').optional(),
    jwksUrl: JwksUrl.optional(),
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }).optional(),
  })
  .strict()
  .refine(
    (i) => [i.hs256Secret, i.jwksUrl, i.jwks].filter((k) => k !== undefined).length === 1,
    'needs exactly one of hs256Secret, jwksUrl or jwks',
  );
export type TrustedIssuer = z.infer<typeof TrustedIssuer>;
/** As written in the configuration: the grants may be left out (their defaults apply). */
export type TrustedIssuerInput = z.input<typeof TrustedIssuer>;

/**
 * Optional `media` claim: where this meeting's media may go. The first participant who enters the room
 * fixes it for the room (on top of the deployment's own constraint); later tokens must name the same or
 * none. Jurisdictions are ISO country codes or "EU".
 */
export const MediaClaim = z
  .object({
    operators: z.array(OperatorId).min(1).max(32).optional(),
    jurisdictions: z.array(Jurisdiction).min(1).max(64).optional(),
  })
  .strict();

export const JoinClaims = z.object({
  room: z.string(),
  name: DisplayName,
  role: Role,
  sub: z.string().max(256).optional(),
  jti: z.string().max(256).optional(),
  media: MediaClaim.optional(),
});
export type JoinClaims = z.infer<typeof JoinClaims>;

/** A token that passed every check, with what the room needs beyond the claims. */
export interface VerifiedJoin extends JoinClaims {
  issuer: string;
  /**
   * Who holds the token, pseudonymous: a hash of issuer + `sub`, or issuer + `jti` when there is no sub,
   * or of the token itself when it has neither. A removal bars it; one participant at a time uses it.
   */
  identity: string;
  /** The issuer lets one identity be in a room on several sockets at once. */
  multipleSessions: boolean;
}

export interface TokenRules {
  /** The `aud` every token must name (TREFFPUNKT_TOKEN_AUDIENCE). */
  audience?: string;
  /** Longest accepted lifetime, exp − iat (or exp − now without iat); TREFFPUNKT_TOKEN_MAX_LIFETIME_SECONDS. */
  maxLifetimeSeconds?: number;
  /** A JWKS fetch is given up after this long (TREFFPUNKT_JWKS_TIMEOUT_MS). */
  jwksTimeoutMs?: number;
  /**
   * After fetching a JWKS, an unknown key id triggers a refetch only after this long (jose's default
   * 30 s protects the IdP from token spam with made-up key ids).
   */
  jwksCooldownMs?: number;
}

const refuse = (why: string) => new TreffpunktError(ErrorCode.Unauthorized, `join token refused: ${why}`);

/** `partner-b-*` → /^partner-b-.*$/ (patterns are letters, digits, -, _ and *: nothing else to escape). */
const roomMatcher = (pattern: string) => new RegExp(`^${pattern.replaceAll('*', '.*')}$`);

interface IssuerEntry {
  key: JWTVerifyGetKey | Uint8Array;
  algorithms: string[];
  rooms: RegExp[];
  roles: readonly string[];
  mediaClaims: boolean;
  multipleSessions: boolean;
}

export class JoinTokenVerifier {
  readonly #issuers = new Map<string, IssuerEntry>();
  readonly #audience: string;
  readonly #maxLifetimeSeconds: number;

  constructor(
    issuers: readonly TrustedIssuerInput[],
    {
      audience = 'treffpunkt',
      maxLifetimeSeconds = 24 * 3600,
      jwksTimeoutMs = 2_000,
      jwksCooldownMs = 30_000,
    }: TokenRules = {},
  ) {
    this.#audience = audience;
    this.#maxLifetimeSeconds = maxLifetimeSeconds;
    for (const input of issuers) {
      const i = TrustedIssuer.parse(input);
      const grants = {
        rooms: i.rooms.map(roomMatcher),
        roles: i.roles,
        mediaClaims: i.mediaClaims,
        multipleSessions: i.multipleSessions,
      };
      if (i.hs256Secret !== undefined)
        this.#issuers.set(i.issuer, { key: new TextEncoder().encode(i.hs256Secret), algorithms: ['HS256'], ...grants });
      // jose caches the key set (10 min) and refetches it on an unknown key id: rotation works without a
      // restart. The short timeout bounds how long a hanging IdP can hold a join (issue 10).
      else if (i.jwksUrl !== undefined)
        this.#issuers.set(i.issuer, {
          key: createRemoteJWKSet(new URL(i.jwksUrl), {
            timeoutDuration: jwksTimeoutMs,
            cooldownDuration: jwksCooldownMs,
            cacheMaxAge: 600_000,
          }),
          algorithms: ASYMMETRIC,
          ...grants,
        });
      else
        this.#issuers.set(i.issuer, {
          key: createLocalJWKSet(i.jwks! as Parameters<typeof createLocalJWKSet>[0]),
          algorithms: ASYMMETRIC,
          ...grants,
        });
    }
  }

  /** The verifier the edge's settings describe (issuers, audience, lifetime cap, JWKS timeout). */
  static fromConfig(c: {
    trustedIssuers: readonly TrustedIssuerInput[];
    tokenAudience: string;
    tokenMaxLifetimeSeconds: number;
    jwksTimeoutMs: number;
  }): JoinTokenVerifier {
    return new JoinTokenVerifier(c.trustedIssuers, {
      audience: c.tokenAudience,
      maxLifetimeSeconds: c.tokenMaxLifetimeSeconds,
      jwksTimeoutMs: c.jwksTimeoutMs,
    });
  }

  get enabled(): boolean {
    return this.#issuers.size > 0;
  }

  /** Verifies a token for `room`; throws UNAUTHORIZED with the reason (safe to show and to log). */
  async verify(token: string, room: string): Promise<VerifiedJoin> {
    let issuer: string | undefined;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      throw refuse('malformed');
    }
    const trusted = issuer === undefined ? undefined : this.#issuers.get(issuer);
    if (!trusted || issuer === undefined) throw refuse('untrusted issuer');
    let payload: Record<string, unknown>;
    try {
      const key = trusted.key;
      const options = {
        issuer,
        audience: this.#audience,
        algorithms: trusted.algorithms,
        requiredClaims: ['exp', 'aud'],
      };
      const result =
        key instanceof Uint8Array ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options);
      payload = result.payload;
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw refuse('expired');
      if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'nbf') throw refuse('not yet valid');
      if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'aud')
        throw refuse('not issued for this deployment (aud)');
      if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported)
        throw refuse('algorithm not allowed');
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWSSignatureVerificationFailed)
        throw refuse('bad signature');
      if (err instanceof errors.JWKSTimeout) throw refuse("the issuer's keys could not be fetched in time; try again");
      if (err instanceof errors.JWKSInvalid || err instanceof errors.JOSEError || err instanceof TypeError)
        throw refuse("the issuer's keys are unavailable");
      throw refuse('invalid');
    }
    // A token valid for years is a standing credential nobody can revoke: refused (issue 10, a token valid until 2200).
    const now = Math.floor(Date.now() / 1000);
    const exp = payload.exp as number;
    const iat = typeof payload.iat === 'number' ? payload.iat : now;
    if (exp - Math.min(iat, now) > this.#maxLifetimeSeconds)
      throw refuse(`lifetime over ${this.#maxLifetimeSeconds} s`);
    const claims = JoinClaims.safeParse(payload);
    if (!claims.success)
      throw refuse(`claims: ${claims.error.issues[0]?.path.join('.')} ${claims.error.issues[0]?.message}`);
    const c = claims.data;
    if (c.room !== room) throw refuse('issued for another room');
    if (!trusted.rooms.some((r) => r.test(room))) throw refuse('its issuer may not admit to this room');
    if (!trusted.roles.includes(c.role)) throw refuse(`its issuer may not grant the role ${c.role}`);
    if (c.media && !trusted.mediaClaims) throw refuse('its issuer may not set media rules');
    const holder = c.sub !== undefined ? ['sub', c.sub] : c.jti !== undefined ? ['jti', c.jti] : ['token', token];
    return {
      ...c,
      issuer,
      identity: await sha256(JSON.stringify([issuer, ...holder])),
      multipleSessions: trusted.multipleSessions,
    };
  }
}

async function sha256(text: string): Promise<string> {
  return toBase64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))));
}
